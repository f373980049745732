package federation

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// maxDocument bounds every document fetched from or posted by another server.
const maxDocument = 1 << 20

// actorMaxAge is how long a cached actor is used before it is fetched again.
const actorMaxAge = 24 * time.Hour

// refreshPause is the least time between two forced refetches of one key, so
// a stream of badly signed requests cannot make us hammer a server.
const refreshPause = 5 * time.Minute

// failureMemory is how long a failed fetch is remembered and not retried.
const failureMemory = time.Minute

// ErrGone is returned when the origin says a document is gone (404 or 410).
var ErrGone = errors.New("document is gone")

// errUnavailable marks a fetch that failed in a way that may pass: the
// network, a timeout, or the server's own trouble (5xx, 429). The request
// that needed the document is answered 503 so that its sender retries.
var errUnavailable = errors.New("server unavailable")

// fetchMode says whether a fetch must be signed.
type fetchMode int

const (
	// signed fetches carry the instance actor's signature: a server shows a
	// non-public object only to a signed request from someone allowed.
	signed fetchMode = iota
	// public fetches are for documents anyone may read, actors and keys:
	// they go unsigned, saving an RSA signature per new actor, unless the
	// host answered an unsigned fetch with 401 or 403 before (servers in
	// secure mode), in which case they are signed at once.
	public
)

// fetcher remembers recent failures and which hosts want signed fetches;
// concurrent fetches of one URL share a single request.
type fetcher struct {
	mu          sync.Mutex
	inflight    map[string]*fetchCall
	failures    map[string]memory[error]
	refreshed   map[string]memory[struct{}]
	signedHosts map[string]memory[struct{}]
}

type fetchCall struct {
	done  chan struct{}
	body  []byte
	final string // the URL the document was served from, after redirects
	err   error
}

func newFetcher() *fetcher {
	return &fetcher{
		inflight:    map[string]*fetchCall{},
		failures:    map[string]memory[error]{},
		refreshed:   map[string]memory[struct{}]{},
		signedHosts: map[string]memory[struct{}]{},
	}
}

// memoryLimit bounds each of the fetcher's maps: they are keyed by what
// remote servers send, so they must not grow without end.
const memoryLimit = 4096

// remember records key at now in m. When m is full, entries older than
// keep are dropped, and if none is, the single oldest: a flood of new keys
// can only push out the oldest memories, never wipe them all at once.
func remember[V any](m map[string]memory[V], key string, value V, now time.Time, keep time.Duration) {
	if _, known := m[key]; !known && len(m) >= memoryLimit {
		oldestKey, oldest := "", now
		for k, entry := range m {
			if now.Sub(entry.at) >= keep {
				delete(m, k)
			} else if !entry.at.After(oldest) {
				oldestKey, oldest = k, entry.at
			}
		}
		if len(m) >= memoryLimit {
			delete(m, oldestKey)
		}
	}
	m[key] = memory[V]{at: now, value: value}
}

// memory is one remembered fact and when it was learned.
type memory[V any] struct {
	at    time.Time
	value V
}

// recall returns what m remembers of key, if it is younger than keep.
func recall[V any](m map[string]memory[V], key string, now time.Time, keep time.Duration) (V, bool) {
	entry, ok := m[key]
	if !ok || now.Sub(entry.at) >= keep {
		var zero V
		return zero, false
	}
	return entry.value, true
}

// fetch GETs iri as an ActivityPub document, and says from which URL it
// was finally served.
func (s *Service) fetch(ctx context.Context, iri string, mode fetchMode) (body []byte, final string, err error) {
	f := s.fetcher
	f.mu.Lock()
	if failed, ok := recall(f.failures, iri, s.now(), failureMemory); ok {
		f.mu.Unlock()
		// The same answer as moments ago: gone stays gone, unavailable
		// stays worth retrying.
		return nil, "", failed
	}
	if call, ok := f.inflight[iri]; ok {
		f.mu.Unlock()
		select {
		case <-call.done:
			return call.body, call.final, call.err
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	f.inflight[iri] = call
	f.mu.Unlock()

	call.body, call.final, call.err = s.get(ctx, iri, mode)

	f.mu.Lock()
	delete(f.inflight, iri)
	if call.err != nil && ctx.Err() == nil {
		remember(f.failures, iri, call.err, s.now(), failureMemory)
	}
	f.mu.Unlock()
	close(call.done)
	return call.body, call.final, call.err
}

// signedHostMemory is how long a host's demand for signed fetches is kept.
const signedHostMemory = 24 * time.Hour

func (s *Service) get(ctx context.Context, iri string, mode fetchMode) ([]byte, string, error) {
	host, err := activitypub.Host(iri)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %q: %w", iri, err)
	}
	if !s.federates(host) {
		return nil, "", fmt.Errorf("fetch %s: %w", iri, errDomainRefused)
	}
	sign := mode == signed || s.wantsSignedFetch(host)
	resp, err := s.request(ctx, iri, sign)
	if err == nil && !sign && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		resp.Body.Close()
		s.fetcher.mu.Lock()
		remember(s.fetcher.signedHosts, host, struct{}{}, s.now(), signedHostMemory)
		s.fetcher.mu.Unlock()
		resp, err = s.request(ctx, iri, true)
	}
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w: %w", iri, errUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, "", fmt.Errorf("fetch %s: %w (HTTP %d)", iri, ErrGone, resp.StatusCode)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, "", fmt.Errorf("fetch %s: %w (HTTP %d)", iri, errUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("fetch %s: HTTP %d", iri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w: %w", iri, errUnavailable, err)
	}
	if len(body) > maxDocument {
		return nil, "", fmt.Errorf("fetch %s: document larger than %d bytes", iri, maxDocument)
	}
	return body, resp.Request.URL.String(), nil
}

func (s *Service) wantsSignedFetch(host string) bool {
	s.fetcher.mu.Lock()
	defer s.fetcher.mu.Unlock()
	_, ok := recall(s.fetcher.signedHosts, host, s.now(), signedHostMemory)
	return ok
}

// request sends one GET for an ActivityPub document, signed by the
// instance actor when sign is set.
func (s *Service) request(ctx context.Context, iri string, sign bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, iri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", activitypub.ContentType+", "+activitypub.LDContentType)
	if sign {
		if err := s.instanceSigner.SignGet(req); err != nil {
			return nil, err
		}
	}
	return s.client.Do(req)
}

// fetchObject fetches and decodes the document at iri. A document is taken
// only from its own id: one served from another address (after a redirect,
// or under a key's URL) is fetched again from the id it claims, on the same
// server, and must be served there. Otherwise any file a server hosts could
// claim to be one of its accounts and replace that account's cached key.
func (s *Service) fetchObject(ctx context.Context, iri string, mode fetchMode) (*activitypub.Object, error) {
	obj, final, err := s.fetchDecoded(ctx, iri, mode)
	if err != nil {
		return nil, err
	}
	if !sameOrigin(obj.ID, iri) {
		return nil, fmt.Errorf("fetch %s: document claims id %q from another server", iri, obj.ID)
	}
	if sameIRI(obj.ID, final) {
		return obj, nil
	}
	again, final, err := s.fetchDecoded(ctx, obj.ID, mode)
	if err != nil {
		return nil, err
	}
	if !sameIRI(again.ID, final) {
		return nil, fmt.Errorf("fetch %s: document claims id %q but is served at %s", obj.ID, again.ID, final)
	}
	return again, nil
}

// sameIRI compares two IRIs as URLs, so that one written with non-ASCII
// letters equals its percent-encoded form.
func sameIRI(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.String() == ub.String()
}

func (s *Service) fetchDecoded(ctx context.Context, iri string, mode fetchMode) (*activitypub.Object, string, error) {
	body, final, err := s.fetch(ctx, iri, mode)
	if err != nil {
		return nil, "", err
	}
	obj, err := activitypub.Decode(body)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", iri, err)
	}
	return obj, final, nil
}

// sameOrigin reports whether two IRIs name the same server.
func sameOrigin(a, b string) bool {
	ha, errA := activitypub.Host(a)
	hb, errB := activitypub.Host(b)
	return errA == nil && errB == nil && ha == hb
}

// actor returns the remote actor with the given id from the cache, fetching
// it when it is unknown or stale.
func (s *Service) actor(ctx context.Context, id string) (storage.Actor, error) {
	var cached storage.Actor
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		cached, err = tx.Actor(id)
		return err
	})
	if err == nil && s.now().Sub(cached.FetchedAt) < actorMaxAge {
		return cached, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Actor{}, err
	}
	fresh, fetchErr := s.fetchActor(ctx, id)
	if fetchErr != nil {
		if err == nil {
			// A stale copy beats none while its server is away.
			return cached, nil
		}
		return storage.Actor{}, fetchErr
	}
	return fresh, nil
}

// fetchActor fetches an actor document and caches what delivery and
// verification need from it.
func (s *Service) fetchActor(ctx context.Context, id string) (storage.Actor, error) {
	obj, err := s.fetchObject(ctx, id, public)
	if err != nil {
		return storage.Actor{}, err
	}
	a, err := s.cacheActor(ctx, obj)
	if err != nil {
		return storage.Actor{}, fmt.Errorf("actor %s: %w", id, err)
	}
	return a, nil
}

// cacheActor checks a fetched actor document and keeps its cache row.
func (s *Service) cacheActor(ctx context.Context, obj *activitypub.Object) (storage.Actor, error) {
	a, err := s.actorRecord(obj)
	if err != nil {
		return storage.Actor{}, err
	}
	return a, s.store.Update(ctx, func(tx *storage.Tx) error { return tx.PutActor(a) })
}

// actorRecord checks an actor document and turns it into its cache row.
func (s *Service) actorRecord(obj *activitypub.Object) (storage.Actor, error) {
	switch obj.Type {
	case "Person", "Service", "Application", "Group", "Organization":
	default:
		return storage.Actor{}, fmt.Errorf("type %q is not an actor", obj.Type)
	}
	host, err := activitypub.Host(obj.ID)
	if err != nil {
		return storage.Actor{}, err
	}
	if obj.Inbox == "" || !sameOrigin(obj.Inbox, obj.ID) {
		return storage.Actor{}, errors.New("no inbox on the actor's own server")
	}
	shared := obj.SharedInbox
	if shared != "" && !sameOrigin(shared, obj.ID) {
		shared = ""
	}
	key := obj.PublicKey
	if key.PEM != "" {
		if key.Owner != "" && key.Owner != obj.ID || !sameOrigin(key.ID, obj.ID) {
			return storage.Actor{}, errors.New("public key belongs to another actor")
		}
		if _, err := activitypub.ParsePublicKey(key.PEM); err != nil {
			return storage.Actor{}, err
		}
	}
	return storage.Actor{
		ID:           obj.ID,
		Type:         obj.Type,
		Host:         host,
		Username:     obj.PreferredUsername,
		Name:         activitypub.PlainText(obj.Name),
		Inbox:        obj.Inbox,
		SharedInbox:  shared,
		KeyID:        key.ID,
		PublicKeyPEM: key.PEM,
		FetchedAt:    s.now(),
	}, nil
}

// signerKey finds the actor owning keyID and its public key. With refresh,
// the cached copy is bypassed (at most once per refreshPause per key), for a
// signature that fails because the actor rotated its key.
func (s *Service) signerKey(ctx context.Context, keyID string, refresh bool) (storage.Actor, *rsa.PublicKey, error) {
	var a storage.Actor
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByKeyID(keyID)
		return err
	})
	cached := err == nil
	switch {
	case cached && !refresh && s.now().Sub(a.FetchedAt) < actorMaxAge:
	case cached || errors.Is(err, storage.ErrNotFound):
		if refresh && !s.mayRefresh(keyID) {
			return storage.Actor{}, nil, errors.New("key was refreshed moments ago")
		}
		fresh, fetchErr := s.fetchKeyOwner(ctx, keyID)
		switch {
		case fetchErr == nil:
			a = fresh
		case cached && !refresh && errors.Is(fetchErr, errUnavailable):
			// A stale key beats none while its server is away.
		default:
			return storage.Actor{}, nil, fetchErr
		}
	default:
		return storage.Actor{}, nil, err
	}
	if a.KeyID != keyID || a.PublicKeyPEM == "" {
		return storage.Actor{}, nil, fmt.Errorf("actor %s does not publish key %s", a.ID, keyID)
	}
	pub, err := activitypub.ParsePublicKey(a.PublicKeyPEM)
	return a, pub, err
}

func (s *Service) mayRefresh(keyID string) bool {
	f := s.fetcher
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := recall(f.refreshed, keyID, s.now(), refreshPause); ok {
		return false
	}
	remember(f.refreshed, keyID, struct{}{}, s.now(), refreshPause)
	delete(f.failures, keyID)
	delete(f.failures, keyOwnerGuess(keyID))
	return true
}

// fetchKeyOwner fetches the actor whose key keyID is. Servers name keys
// actor#main-key, or give the key a URL of its own that serves the actor
// (fetchObject then refetches the actor from its id).
func (s *Service) fetchKeyOwner(ctx context.Context, keyID string) (storage.Actor, error) {
	obj, err := s.fetchObject(ctx, keyOwnerGuess(keyID), public)
	if err != nil {
		return storage.Actor{}, err
	}
	if obj.PublicKey.ID != keyID {
		return storage.Actor{}, fmt.Errorf("key %s: actor %s publishes key %q", keyID, obj.ID, obj.PublicKey.ID)
	}
	a, err := s.cacheActor(ctx, obj)
	if err != nil {
		return storage.Actor{}, fmt.Errorf("key %s: %w", keyID, err)
	}
	return a, nil
}

// keyOwnerGuess drops the fragment of a keyId: almost every server names its
// keys actor#main-key, and fetching the actor answers for the key.
func keyOwnerGuess(keyID string) string {
	if i := strings.IndexByte(keyID, '#'); i >= 0 {
		return keyID[:i]
	}
	return keyID
}

// ResolveAccount finds a remote actor from what a person types: an actor
// URL, user@host or @user@host. Known actors come from the cache; others
// are looked up with WebFinger on their server.
func (s *Service) ResolveAccount(ctx context.Context, account string) (storage.Actor, error) {
	account = strings.TrimSpace(account)
	if strings.HasPrefix(account, "https://") || strings.HasPrefix(account, "http://") {
		var a storage.Actor
		err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
			a, err = tx.Actor(account)
			return err
		})
		if err == nil {
			return a, nil
		}
		return s.actor(ctx, account)
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(account, "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(user+host, "/@?# ") {
		return storage.Actor{}, fmt.Errorf("%q: an account is user@host, @user@host or an actor URL", account)
	}
	host = strings.ToLower(host)
	var a storage.Actor
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByHandle(user, host)
		return err
	})
	if err == nil {
		return a, nil
	}
	id, err := s.webfinger(ctx, user, host)
	if err != nil {
		return storage.Actor{}, err
	}
	a, err = s.actor(ctx, id)
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
func (s *Service) webfinger(ctx context.Context, user, host string) (string, error) {
	if !s.federates(host) {
		return "", fmt.Errorf("looking up %s@%s: %w", user, host, errDomainRefused)
	}
	schemes := []string{"https"}
	if s.cfg.InsecureDev {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		u := url.URL{Scheme: scheme, Host: host, Path: "/.well-known/webfinger",
			RawQuery: url.Values{"resource": {"acct:" + user + "@" + host}}.Encode()}
		id, err := s.webfingerAt(ctx, u.String())
		if err == nil {
			return id, nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("looking up %s@%s: %w", user, host, lastErr)
}

func (s *Service) webfingerAt(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("WebFinger answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
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
