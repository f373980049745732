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
	if !f.cfg.Federates(host) {
		return "", fmt.Errorf("looking up %s@%s: %w", user, host, ErrNotFederated)
	}
	schemes := []string{"https"}
	if f.cfg.Insecure {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		u := url.URL{Scheme: scheme, Host: host, Path: "/.well-known/webfinger",
			RawQuery: url.Values{"resource": {"acct:" + user + "@" + host}}.Encode()}
		id, err := f.webfingerAt(ctx, u.String())
		if err == nil {
			return id, nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("looking up %s@%s: %w", user, host, lastErr)
}

func (f *Fetcher) webfingerAt(ctx context.Context, u string) (string, error) {
	done, err := f.takeTurn(ctx, u)
	if err != nil {
		return "", err
	}
	defer done()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("WebFinger answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, activitypub.MaxDocumentSize))
	if err != nil {
		return "", err
	}
	var jrd activitypub.JRD
	if err := json.Unmarshal(body, &jrd); err != nil {
		return "", fmt.Errorf("WebFinger answer: %w", err)
	}
	for _, link := range jrd.Links {
		if link.Rel == "self" && activitypub.IsActivityPubMediaType(link.Type) && link.Href != "" {
			return link.Href, nil
		}
	}
	return "", errors.New("WebFinger answer names no ActivityPub actor")
}
