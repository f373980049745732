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

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// ResolveAccount finds a remote actor from what a person types: an actor
// URL, user@host or @user@host. Known actors come from the cache; others
// are looked up with WebFinger on their server.
func (f *Fetcher) ResolveAccount(ctx context.Context, account string) (storage.Actor, error) {
	account = strings.TrimSpace(account)
	if strings.HasPrefix(account, "https://") || strings.HasPrefix(account, "http://") {
		var a storage.Actor
		err := f.store.View(ctx, func(tx *storage.Tx) (err error) {
			a, err = tx.Actor(account)
			return err
		})
		if err == nil {
			return a, nil
		}
		return f.Actor(ctx, account)
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(account, "@"), "@")
	host, err := activitypub.CanonicalHost(host)
	if !ok || user == "" || err != nil || strings.ContainsAny(user, "/@?# ") {
		return storage.Actor{}, fmt.Errorf("%q: an account is user@host, @user@host or an actor URL", account)
	}
	var a storage.Actor
	err = f.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByHandle(user, host)
		return err
	})
	if err == nil {
		return a, nil
	}
	id, err := f.webfinger(ctx, user, host)
	if err != nil {
		return storage.Actor{}, err
	}
	a, err = f.Actor(ctx, id)
	if err != nil {
		return a, err
	}
	// A server may only answer for its own accounts: otherwise user@evil
	// could name someone on another server, and a ban would fall on them.
	if !strings.EqualFold(a.Username, user) || a.Host != host {
		return storage.Actor{}, fmt.Errorf("%s@%s names %s, an account of another server; give that account's own handle or actor URL", user, host, a.ID)
	}
	return a, nil
}

// webfinger asks host which actor acct:user@host is.
func (f *Fetcher) webfinger(ctx context.Context, user, host string) (string, error) {
	jrd, err := f.lookUp(ctx, user, host)
	if err != nil {
		return "", err
	}
	for _, link := range jrd.Links {
		if link.Rel == "self" && activitypub.IsActivityPubMediaType(link.Type) && link.Href != "" {
			return link.Href, nil
		}
	}
	return "", fmt.Errorf("looking up %s@%s: WebFinger answer names no ActivityPub actor", user, host)
}

// SubscribeRel marks the WebFinger link whose template opens an account's
// own server on the page that follows a given account.
const SubscribeRel = "http://ostatus.org/schema/1.0/subscribe"

// SubscribeTemplate returns the follow-page template that the server of
// account (user@host or @user@host) publishes in its WebFinger answer.
func (f *Fetcher) SubscribeTemplate(ctx context.Context, account string) (string, error) {
	user, host, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(account), "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(user+host, "/@?# ") {
		return "", fmt.Errorf("%q: %w", account, ErrNotAHandle)
	}
	jrd, err := f.lookUp(ctx, user, strings.ToLower(host))
	if err != nil {
		return "", err
	}
	for _, link := range jrd.Links {
		if link.Rel == SubscribeRel && link.Template != "" {
			return link.Template, nil
		}
	}
	return "", fmt.Errorf("%s: %w", account, ErrNoSubscribeTemplate)
}

// ErrNotAHandle is returned for what is not a user@host handle.
var ErrNotAHandle = errors.New("an account is user@host or @user@host")

// ErrNoSubscribeTemplate is returned when an account's server publishes
// no follow page.
var ErrNoSubscribeTemplate = errors.New("the account's server does not say where to follow from")

// lookUp asks host's WebFinger about acct:user@host.
func (f *Fetcher) lookUp(ctx context.Context, user, host string) (activitypub.JRD, error) {
	if !f.cfg.Federates(host) {
		return activitypub.JRD{}, fmt.Errorf("looking up %s@%s: %w", user, host, ErrNotFederated)
	}
	schemes := []string{"https"}
	if f.cfg.Insecure {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		u := url.URL{Scheme: scheme, Host: host, Path: "/.well-known/webfinger",
			RawQuery: url.Values{"resource": {"acct:" + user + "@" + host}}.Encode()}
		jrd, err := f.webfingerAt(ctx, u.String())
		if err == nil {
			return jrd, nil
		}
		lastErr = err
	}
	return activitypub.JRD{}, fmt.Errorf("looking up %s@%s: %w", user, host, lastErr)
}

func (f *Fetcher) webfingerAt(ctx context.Context, u string) (activitypub.JRD, error) {
	var jrd activitypub.JRD
	done, err := f.takeTurn(ctx, u)
	if err != nil {
		return jrd, err
	}
	defer done()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return jrd, err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return jrd, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jrd, fmt.Errorf("WebFinger answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, activitypub.MaxDocumentSize))
	if err != nil {
		return jrd, err
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return jrd, fmt.Errorf("WebFinger answer: %w", err)
	}
	return jrd, nil
}
