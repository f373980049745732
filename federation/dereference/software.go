package dereference

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

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// softwareMaxAge is how long a server's NodeInfo answer is trusted.
const softwareMaxAge = 7 * 24 * time.Hour

// LearnSoftware asks an actor's server what software it runs, unless that
// is known and recent. Failure is remembered too, so a server without
// NodeInfo, or whose NodeInfo does not answer before ctx's deadline, is not
// asked on every follow; it then gets both forms. Canceled, it remembers
// nothing.
func (f *Fetcher) LearnSoftware(ctx context.Context, actor storage.Actor) {
	u, err := url.Parse(actor.Inbox)
	if err != nil {
		return
	}
	// Keyed as deliveries name their host, which is how it is looked up.
	host, err := activitypub.Host(actor.Inbox)
	if err != nil {
		return
	}
	var checked time.Time
	if err := f.store.View(ctx, func(tx *storage.Tx) (err error) {
		_, checked, err = tx.HostSoftware(host)
		return err
	}); err != nil || f.now().Sub(checked) < softwareMaxAge {
		return
	}
	name, err := f.nodeInfoSoftware(ctx, u.Scheme+"://"+u.Host)
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	if err != nil {
		f.log.Debug("no NodeInfo", "host", host, "err", err)
	}
	record := context.WithoutCancel(ctx)
	if err := f.store.Update(record, func(tx *storage.Tx) error { return tx.SetHostSoftware(host, name) }); err != nil {
		f.log.Warn("recording server software", "host", host, "err", err)
	}
}

// nodeInfoSoftware follows a server's NodeInfo discovery document to its
// NodeInfo 2.x and returns the software name, lower-cased.
func (f *Fetcher) nodeInfoSoftware(ctx context.Context, origin string) (string, error) {
	var links struct {
		Links []struct{ Rel, Href string } `json:"links"`
	}
	if err := f.getJSON(ctx, origin+"/.well-known/nodeinfo", &links); err != nil {
		return "", err
	}
	for _, link := range links.Links {
		if !strings.HasPrefix(link.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") || !activitypub.SameOrigin(link.Href, origin) {
			continue
		}
		var info struct {
			Software struct{ Name string } `json:"software"`
		}
		if err := f.getJSON(ctx, link.Href, &info); err != nil {
			return "", err
		}
		return strings.ToLower(info.Software.Name), nil
	}
	return "", errors.New("no NodeInfo 2 link")
}

func (f *Fetcher) getJSON(ctx context.Context, u string, v any) error {
	done, err := f.takeTurn(ctx, u)
	if err != nil {
		return err
	}
	defer done()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, activitypub.MaxDocumentSize)).Decode(v)
}
