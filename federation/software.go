package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// softwareMaxAge is how long a server's NodeInfo answer is trusted.
const softwareMaxAge = 7 * 24 * time.Hour

// Servers that show a relayed post only as a boost of the note: they get
// the boost alone, which halves the signing work for them. (They would
// fetch the wrapped Create's id and find another server's activity.)
var boostOnly = map[string]bool{
	"mastodon": true, "hometown": true, "glitch-soc": true, "fedibird": true,
	"misskey": true, "sharkey": true, "iceshrimp": true, "firefish": true, "catodon": true,
	"pleroma": true, "akkoma": true, "gotosocial": true,
}

// Group-aware servers read the FEP-1b12 Announce of the activity and
// refuse or ignore the bare boost: they get the wrapped form alone.
var wrappedOnly = map[string]bool{
	"lemmy": true, "mbin": true, "kbin": true, "piefed": true, "lotide": true,
}

// announceAudiences splits the delivery inboxes of g's members by the form
// of Announce their servers read. A server whose software is unknown gets
// both forms.
func announceAudiences(tx *storage.Tx, g storage.Group) (wrapped, boost []string, err error) {
	inboxes, err := tx.MemberInboxes(g.ID)
	if err != nil {
		return nil, nil, err
	}
	software, err := tx.SoftwareByInbox(inboxes)
	if err != nil {
		return nil, nil, err
	}
	for _, inbox := range inboxes {
		name := software[inbox]
		if !boostOnly[name] {
			wrapped = append(wrapped, inbox)
		}
		if !wrappedOnly[name] {
			boost = append(boost, inbox)
		}
	}
	return wrapped, boost, nil
}

// learnSoftware asks an actor's server what software it runs, unless that
// is known and recent. Failure is remembered too, so a server without
// NodeInfo is not asked on every follow; it then gets both forms.
func (s *Service) learnSoftware(ctx context.Context, actor storage.Actor) {
	u, err := url.Parse(actor.Inbox)
	if err != nil {
		return
	}
	host := strings.ToLower(u.Host)
	var checked time.Time
	if err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		_, checked, err = tx.HostSoftware(host)
		return err
	}); err != nil || s.now().Sub(checked) < softwareMaxAge {
		return
	}
	name, err := s.nodeInfoSoftware(ctx, u.Scheme+"://"+u.Host)
	if err != nil {
		s.log.Debug("no NodeInfo", "host", host, "err", err)
	}
	if err := s.store.Update(ctx, func(tx *storage.Tx) error { return tx.SetHostSoftware(host, name) }); err != nil {
		s.log.Warn("recording server software", "host", host, "err", err)
	}
}

// nodeInfoSoftware follows a server's NodeInfo discovery document to its
// NodeInfo 2.x and returns the software name, lower-cased.
func (s *Service) nodeInfoSoftware(ctx context.Context, origin string) (string, error) {
	var links struct {
		Links []struct{ Rel, Href string } `json:"links"`
	}
	if err := s.getJSON(ctx, origin+"/.well-known/nodeinfo", &links); err != nil {
		return "", err
	}
	for _, link := range links.Links {
		if !strings.HasPrefix(link.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") || !sameOrigin(link.Href, origin) {
			continue
		}
		var info struct {
			Software struct{ Name string } `json:"software"`
		}
		if err := s.getJSON(ctx, link.Href, &info); err != nil {
			return "", err
		}
		return strings.ToLower(info.Software.Name), nil
	}
	return "", errors.New("no NodeInfo 2 link")
}

func (s *Service) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(v)
}
