// Package dereference fetches what other servers publish (actors, their
// keys, objects, WebFinger and NodeInfo answers) and caches what Hearth
// keeps of it. Every fetch goes through one guarded client, only a few at
// a time go to any one server, concurrent fetches of one document share a
// request, and recent failures are remembered so that a dead server is not
// asked again at once.
package dereference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
)

// Config is what a Fetcher needs from the instance.
type Config struct {
	Store *storage.Store
	// Client is the guarded client every fetch goes through.
	Client *http.Client
	// Signer is the instance actor's, for fetches that must be signed.
	Signer *signature.Signer
	// Federates says whether the instance talks to a host at all.
	Federates func(host string) bool
	// Insecure lets WebFinger fall back to plain http, for local testing.
	Insecure bool
	Logger   *slog.Logger
	Now      func() time.Time
	// Metrics records each fetch's outcome and time; nil records nothing.
	Metrics *metrics.Metrics
}

// Fetcher fetches and caches remote documents for one instance. It
// remembers recent failures and which hosts want signed fetches.
type Fetcher struct {
	cfg    Config
	store  *storage.Store
	client *http.Client
	signer *signature.Signer
	log    *slog.Logger
	now    func() time.Time
	// queueWait is how long a fetch waits for a turn at a busy server.
	queueWait time.Duration

	mu          sync.Mutex
	inflight    map[string]*fetchCall
	turns       map[string]*hostTurns
	failures    map[string]memory[error]
	refreshed   map[string]memory[struct{}]
	signedHosts map[string]memory[struct{}]
}

// New returns a Fetcher with empty memories.
func New(cfg Config) *Fetcher {
	return &Fetcher{
		cfg:         cfg,
		store:       cfg.Store,
		client:      cfg.Client,
		signer:      cfg.Signer,
		log:         cfg.Logger,
		now:         cfg.Now,
		queueWait:   queueWait,
		inflight:    map[string]*fetchCall{},
		turns:       map[string]*hostTurns{},
		failures:    map[string]memory[error]{},
		refreshed:   map[string]memory[struct{}]{},
		signedHosts: map[string]memory[struct{}]{},
	}
}

// ErrNotFederated is returned for a server this instance does not federate with.
var ErrNotFederated = errors.New("this instance does not federate with that server")

// failureMemory is how long a failed fetch is remembered and not retried.
const failureMemory = time.Minute

// ErrGone is returned when the origin says a document is gone (404 or 410).
var ErrGone = errors.New("document is gone")

// ErrUnavailable marks a fetch that failed in a way that may pass: the
// network, a timeout, or the server's own trouble (5xx, 429). The request
// that needed the document is answered 503 so that its sender retries.
var ErrUnavailable = errors.New("server unavailable")

// Mode says whether a fetch must be signed.
type Mode int

const (
	// Signed fetches carry the instance actor's signature: a server shows a
	// non-public object only to a signed request from someone allowed.
	Signed Mode = iota
	// Public fetches are for documents anyone may read, actors and keys:
	// they go unsigned, saving an RSA signature per new actor, unless the
	// host answered an unsigned fetch with 401 or 403 before (servers in
	// secure mode), in which case they are signed at once.
	Public
)

type fetchCall struct {
	done  chan struct{}
	body  []byte
	final string // the URL the document was served from, after redirects
	err   error
}

// fetchTimeout bounds a fetch, its wait for a turn included. A fetch shared
// by several callers is bounded by this alone, not by any caller's context.
const fetchTimeout = 20 * time.Second

// fetch GETs iri as an ActivityPub document, and says from which URL it
// was finally served. Callers asking for one document at once share one
// fetch; each stops waiting for it when its own context ends.
func (f *Fetcher) fetch(ctx context.Context, iri string, mode Mode) (body []byte, final string, err error) {
	f.mu.Lock()
	if failed, ok := recall(f.failures, iri, f.now(), failureMemory); ok {
		f.mu.Unlock()
		// The same answer as moments ago: gone stays gone, unavailable
		// stays worth retrying.
		return nil, "", failed
	}
	call, shared := f.inflight[iri]
	if !shared {
		call = &fetchCall{done: make(chan struct{})}
		f.inflight[iri] = call
		go f.share(context.WithoutCancel(ctx), call, iri, mode)
	}
	f.mu.Unlock()
	select {
	case <-call.done:
		return call.body, call.final, call.err
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

// share makes the fetch of iri for every caller that asks for it until it
// ends. It runs on its own deadline: the first caller giving up must not
// fail the others.
func (f *Fetcher) share(ctx context.Context, call *fetchCall, iri string, mode Mode) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	call.body, call.final, call.err = f.get(ctx, iri, mode)

	f.mu.Lock()
	delete(f.inflight, iri)
	// A server too busy to take the fetch says nothing about the document:
	// the next caller may find a free turn.
	if call.err != nil && !errors.Is(call.err, errBusy) {
		remember(f.failures, iri, call.err, f.now(), failureMemory)
	}
	f.mu.Unlock()
	close(call.done)
}

// signedHostMemory is how long a host's demand for signed fetches is kept.
const signedHostMemory = 24 * time.Hour

func (f *Fetcher) get(ctx context.Context, iri string, mode Mode) ([]byte, string, error) {
	host, err := activitypub.Host(iri)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %q: %w", iri, err)
	}
	if !f.cfg.Federates(host) {
		return nil, "", fmt.Errorf("fetch %s: %w", iri, ErrNotFederated)
	}
	done, err := f.takeTurn(ctx, iri)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", iri, err)
	}
	defer done()
	started := time.Now()
	body, final, err := f.download(ctx, iri, host, mode)
	f.cfg.Metrics.Fetch(fetchOutcome(err), time.Since(started))
	return body, final, err
}

// fetchOutcome names how a fetch ended, for the metrics.
func fetchOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrGone):
		return "gone"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, transport.ErrRefused):
		return "refused"
	}
	return "failed"
}

// download makes the GET of a fetch, signed when mode or the host asks.
func (f *Fetcher) download(ctx context.Context, iri, host string, mode Mode) ([]byte, string, error) {
	sign := mode == Signed || f.wantsSignedFetch(host)
	resp, err := f.request(ctx, iri, sign)
	if err == nil && !sign && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		resp.Body.Close()
		f.mu.Lock()
		remember(f.signedHosts, host, struct{}{}, f.now(), signedHostMemory)
		f.mu.Unlock()
		resp, err = f.request(ctx, iri, true)
	}
	if errors.Is(err, transport.ErrRefused) {
		// The guard's refusal of an address or scheme is final: retrying
		// cannot help, and the sender must not be told to.
		f.log.Warn("fetch refused by the outgoing guard", "host", host, "err", err)
		return nil, "", fmt.Errorf("fetch %s: %w", iri, err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w: %w", iri, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, "", fmt.Errorf("fetch %s: %w (HTTP %d)", iri, ErrGone, resp.StatusCode)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, "", fmt.Errorf("fetch %s: %w (HTTP %d)", iri, ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("fetch %s: HTTP %d", iri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, activitypub.MaxDocumentSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w: %w", iri, ErrUnavailable, err)
	}
	if len(body) > activitypub.MaxDocumentSize {
		return nil, "", fmt.Errorf("fetch %s: document larger than %d bytes", iri, activitypub.MaxDocumentSize)
	}
	return body, resp.Request.URL.String(), nil
}

func (f *Fetcher) wantsSignedFetch(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := recall(f.signedHosts, host, f.now(), signedHostMemory)
	return ok
}

// request sends one GET for an ActivityPub document, signed by the
// instance actor when sign is set.
func (f *Fetcher) request(ctx context.Context, iri string, sign bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, iri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", activitypub.ContentType+", "+activitypub.LDContentType)
	if sign {
		if err := f.signer.SignGet(req); err != nil {
			return nil, err
		}
	}
	return f.client.Do(req)
}

// Object fetches and decodes the document at iri. A document is taken
// only from its own id: one served from another address (after a redirect,
// or under a key's URL) is fetched again from the id it claims, on the same
// server, and must be served there. Otherwise any file a server hosts could
// claim to be one of its accounts and replace that account's cached key.
func (f *Fetcher) Object(ctx context.Context, iri string, mode Mode) (*activitypub.Object, error) {
	obj, final, err := f.fetchDecoded(ctx, iri, mode)
	if err != nil {
		return nil, err
	}
	if !activitypub.SameOrigin(obj.ID, iri) {
		return nil, fmt.Errorf("fetch %s: document claims id %q from another server", iri, obj.ID)
	}
	if sameIRI(obj.ID, final) {
		return obj, nil
	}
	again, final, err := f.fetchDecoded(ctx, obj.ID, mode)
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

func (f *Fetcher) fetchDecoded(ctx context.Context, iri string, mode Mode) (*activitypub.Object, string, error) {
	body, final, err := f.fetch(ctx, iri, mode)
	if err != nil {
		return nil, "", err
	}
	obj, err := activitypub.Decode(body)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", iri, err)
	}
	return obj, final, nil
}
