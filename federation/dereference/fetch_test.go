package dereference

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// TestADocumentCannotSpeakForAnotherAddress serves, on one server, a file
// that claims to be one of that server's accounts with the attacker's key.
// Hearth must not take the key for the account's.
func TestADocumentCannotSpeakForAnotherAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	network := fedtest.NewNetwork(t)
	attacker, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	attackerPEM, _ := activitypub.EncodePublicKey(&attacker.PublicKey)
	keeper, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keeperPEM, _ := activitypub.EncodePublicKey(&keeper.PublicKey)
	const keeperID = "http://shared.test/users/keeper"
	person := func(id, keyID, pem string) []byte {
		doc, _ := json.Marshal(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": id, "type": "Person",
			"preferredUsername": "keeper", "inbox": keeperID + "/inbox",
			"publicKey": map[string]string{"id": keyID, "owner": id, "publicKeyPem": pem}})
		return doc
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/users/keeper", func(w http.ResponseWriter, r *http.Request) {
		w.Write(person(keeperID, keeperID+"#main-key", keeperPEM))
	})
	mux.HandleFunc("/files/upload.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write(person(keeperID, "http://shared.test/files/upload.json#main-key", attackerPEM))
	})
	network.Route("shared.test", mux)

	f, store := newTestFetcher(t, network)
	owner, _, fetched, err := f.SignerKey(ctx, keeperID+"#main-key", false)
	if err != nil || !fetched {
		t.Fatalf("the real key: fetched %v, %v", fetched, err)
	}
	if err := store.Update(ctx, func(tx *storage.Tx) error { return tx.PutActor(owner) }); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.SignerKey(ctx, "http://shared.test/files/upload.json#main-key", false); err == nil {
		t.Fatal("a file claiming to be keeper was taken as keeper's key")
	}
	var cached storage.Actor
	store.View(ctx, func(tx *storage.Tx) (err error) {
		cached, err = tx.Actor(keeperID)
		return err
	})
	if cached.KeyID != keeperID+"#main-key" || cached.PublicKeyPEM != keeperPEM {
		t.Errorf("keeper's cached key was replaced: %s", cached.KeyID)
	}
}

func TestRememberForgetsTheOldestFirst(t *testing.T) {
	t.Parallel()
	m := map[string]memory[struct{}]{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range memoryLimit {
		remember(m, fmt.Sprint(i), struct{}{}, start.Add(time.Duration(i)*time.Millisecond), time.Hour)
	}
	remember(m, "new", struct{}{}, start.Add(time.Second), time.Hour)
	if len(m) != memoryLimit {
		t.Fatalf("%d entries, want the limit %d", len(m), memoryLimit)
	}
	if _, ok := m["0"]; ok {
		t.Error("the oldest entry survived")
	}
	if _, ok := m["1"]; !ok {
		t.Error("an entry other than the oldest was dropped")
	}
	remember(m, "late", struct{}{}, start.Add(2*time.Hour), time.Hour)
	if len(m) != 1 {
		t.Errorf("%d entries after all the others expired, want 1", len(m))
	}
}

// newTestFetcher is a fetcher on the fake network, signing as the instance
// actor of hearth.test.
func newTestFetcher(t *testing.T, network *fedtest.Network) (*Fetcher, *storage.Store) {
	t.Helper()
	store, err := storage.Open(context.Background(), storagetest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key, err := fedtest.Key()
	if err != nil {
		t.Fatal(err)
	}
	f := New(Config{
		Store:     store,
		Client:    transport.NewClient(transport.Options{Insecure: true, Base: network.Transport()}),
		Signer:    signature.NewSigner("http://hearth.test/actor#main-key", key),
		Federates: func(string) bool { return true },
		Insecure:  true,
		Logger:    slog.New(slog.DiscardHandler),
		Now:       time.Now,
	})
	return f, store
}

func TestAFetchIsAnsweredByTheServerItNames(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	note := func(id string) []byte {
		doc, _ := json.Marshal(map[string]any{"id": id, "type": "Note", "content": "hi"})
		return doc
	}
	victim := http.NewServeMux()
	victim.HandleFunc("/notes/1", func(w http.ResponseWriter, r *http.Request) { w.Write(note("http://victim.test/notes/1")) })
	victim.HandleFunc("/users/j%C3%BCrgen/notes/2", func(w http.ResponseWriter, r *http.Request) {
		w.Write(note("http://victim.test/users/jürgen/notes/2"))
	})
	network.Route("victim.test", victim)
	evil := http.NewServeMux()
	evil.HandleFunc("/notes/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://victim.test/notes/1", http.StatusFound)
	})
	network.Route("evil.test", evil)
	f, _ := newTestFetcher(t, network)
	ctx := context.Background()
	if _, err := f.Object(ctx, "http://evil.test/notes/1", Signed); err == nil {
		t.Error("a redirect to another server was taken as the first server's object")
	}
	if _, err := f.Object(ctx, "http://victim.test/users/jürgen/notes/2", Signed); err != nil {
		t.Errorf("an id with a non-ASCII letter: %v", err)
	}
}

func TestAGoneDocumentStaysGoneWhenAskedAgain(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	network.Route("remote.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	f, _ := newTestFetcher(t, network)
	for attempt := range 2 {
		if _, _, err := f.fetch(context.Background(), "http://remote.test/users/ghost", Public); !errors.Is(err, ErrGone) || errors.Is(err, ErrUnavailable) {
			t.Errorf("attempt %d: got %v, want gone and not unavailable", attempt+1, err)
		}
	}
}

func TestAHandleResolvesOnlyToItsOwnServersAccount(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	bob := network.NewInstance("victim.test").NewActor("bob")
	evil := http.NewServeMux()
	evil.HandleFunc("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"subject": "acct:alice@evil.test",
			"links": []map[string]string{{"rel": "self", "type": activitypub.ContentType, "href": bob.ID}}})
	})
	network.Route("evil.test", evil)
	f, _ := newTestFetcher(t, network)
	if a, err := f.ResolveAccount(context.Background(), "alice@evil.test"); err == nil {
		t.Errorf("alice@evil.test resolved to %s on another server", a.ID)
	}
	if a, err := f.ResolveAccount(context.Background(), "@bob@victim.test"); err != nil || a.ID != bob.ID {
		t.Errorf("bob's own handle: %v, %v", a.ID, err)
	}
}

// TestAFetchTheGuardRefusesIsFinal fetches through the production client:
// a document on a loopback address is refused, and the refusal is not one
// that asks the sender to retry.
func TestAFetchTheGuardRefusesIsFinal(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, fedtest.NewNetwork(t))
	f.client = transport.NewClient(transport.Options{})
	_, err := f.Object(context.Background(), "https://127.0.0.1:9/users/someone", Public)
	if !errors.Is(err, transport.ErrRefused) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("fetch of a loopback address: %v, want a final refusal", err)
	}
}

// hangingServer serves an actor at every path of its host, but holds each
// answer until it is freed. It announces each request as it comes in and
// keeps the most it ever held at once.
type hangingServer struct {
	arrived chan string
	release chan struct{}
	free    func()

	inFlight, most atomic.Int32
}

func newHangingServer(t *testing.T, network *fedtest.Network, host string) *hangingServer {
	t.Helper()
	key, err := fedtest.Key()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := activitypub.EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &hangingServer{arrived: make(chan string, 100), release: make(chan struct{})}
	s.free = sync.OnceFunc(func() { close(s.release) })
	network.Route(host, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for most := s.most.Load(); held > most && !s.most.CompareAndSwap(most, held); most = s.most.Load() {
		}
		s.arrived <- r.URL.Path
		<-s.release
		id := "http://" + host + r.URL.Path
		json.NewEncoder(w).Encode(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": id, "type": "Person",
			"inbox": id + "/inbox", "publicKey": map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": pem}})
	}))
	// Registered after the network's, so it runs first: the network waits
	// for its requests to end when it closes.
	t.Cleanup(s.free)
	return s
}

// TestFetchesToAHangingServerAreBounded sends many requests naming new keys
// on one server that never answers: only a few fetches may wait on it, and
// the rest fail at once as unavailable, so their senders retry later.
func TestFetchesToAHangingServerAreBounded(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	hang := newHangingServer(t, network, "hang.test")
	f, _ := newTestFetcher(t, network)
	f.queueWait = 0
	const callers = 20
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, _, _, err := f.SignerKey(context.Background(), fmt.Sprintf("http://hang.test/users/u%d#main-key", i), false)
			errs <- err
		}()
	}
	giveUp := time.After(10 * time.Second)
	for arrived, refused := 0, 0; arrived < fetchesPerHost || refused < callers-fetchesPerHost; {
		select {
		case <-hang.arrived:
			if arrived++; arrived > fetchesPerHost {
				t.Fatalf("%d fetches in flight to one server, want at most %d", arrived, fetchesPerHost)
			}
		case err := <-errs:
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("a fetch beyond the bound: %v, want unavailable", err)
			}
			refused++
		case <-giveUp:
			t.Fatalf("%d fetches arrived and %d were refused, want %d and %d", arrived, refused, fetchesPerHost, callers-fetchesPerHost)
		}
	}
	hang.free()
	for range fetchesPerHost {
		if err := <-errs; err != nil {
			t.Errorf("a fetch within the bound: %v", err)
		}
	}
}

// TestAFetchWaitsItsTurnOnABusyServer has more fetches ask one server than
// may be in flight to it: the others wait for a turn and are all served.
func TestAFetchWaitsItsTurnOnABusyServer(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	hang := newHangingServer(t, network, "busy.test")
	f, _ := newTestFetcher(t, network)
	const callers = fetchesPerHost + 2
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, err := f.Actor(context.Background(), fmt.Sprintf("http://busy.test/users/u%d", i))
			errs <- err
		}()
	}
	for range fetchesPerHost {
		<-hang.arrived
	}
	hang.free()
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("a fetch waiting its turn: %v", err)
		}
	}
	if most := hang.most.Load(); most > fetchesPerHost {
		t.Errorf("%d fetches in flight to one server, want at most %d", most, fetchesPerHost)
	}
}

// waitingContext closes waiting when someone first waits for it to end.
type waitingContext struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *waitingContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// TestASharedFetchOutlivesItsFirstCaller has two requests need one
// document; the first gives up while the fetch is under way. The second
// must still get the document, from the same fetch.
func TestASharedFetchOutlivesItsFirstCaller(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	hang := newHangingServer(t, network, "slow.test")
	f, _ := newTestFetcher(t, network)
	const iri = "http://slow.test/users/someone"

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, _, err := f.fetch(firstCtx, iri, Public)
		first <- err
	}()
	<-hang.arrived
	secondCtx := &waitingContext{Context: context.Background(), waiting: make(chan struct{})}
	second := make(chan error, 1)
	go func() {
		_, _, err := f.fetch(secondCtx, iri, Public)
		second <- err
	}()
	<-secondCtx.waiting
	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("the first caller, gone: %v, want its own cancellation", err)
	}
	hang.free()
	if err := <-second; err != nil {
		t.Fatalf("the second caller, after the first gave up: %v", err)
	}
	if len(hang.arrived) != 0 {
		t.Errorf("%d more requests reached the server, want the one fetch shared", len(hang.arrived))
	}
}

// TestActorRecordKeepsOnlyAValidUsername: an actor's handle is its username
// at the host of its id; a username that could pass for another handle, or
// play tricks on a terminal, is dropped, and the handle is the id.
func TestActorRecordKeepsOnlyAValidUsername(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, fedtest.NewNetwork(t))
	const id = "http://mastodon.test/users/1"
	for username, handle := range map[string]string{
		"alice":                      "@alice@mastodon.test",
		"Jean-Luc.P_2":               "@Jean-Luc.P_2@mastodon.test",
		"":                           id,
		"alice@other.example":        id,
		"alice@other.example\u202e":  id,
		"\x1b[2Jalice\nbanned  @bob": id,
		"alice.":                     id,
		"\u212aelvin":                id,
		"alice\u200f":                id,
	} {
		doc, _ := json.Marshal(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": id, "type": "Person",
			"preferredUsername": username, "inbox": id + "/inbox", "url": "http://other.example/@alice"})
		obj, err := activitypub.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.ActorRecord(obj)
		if err != nil {
			t.Fatalf("preferredUsername %q: %v", username, err)
		}
		if a.Handle() != handle {
			t.Errorf("preferredUsername %q: handle %q, want %q", username, a.Handle(), handle)
		}
	}
}

// TestActorRecordKeepsOnlyTheActorsOwnMultikey: an Ed25519 Multikey is the
// actor's when the actor controls it and names it on its own server.
func TestActorRecordKeepsOnlyTheActorsOwnMultikey(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, fedtest.NewNetwork(t))
	const id = "http://mastodon.test/users/1"
	public, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, keyID, controller string
		kept                    bool
	}{
		{"the actor's own", id + "#ed25519-key", id, true},
		{"controlled by another actor", id + "#ed25519-key", "http://mastodon.test/users/2", false},
		{"named on another server", "http://other.example/keys/1", id, false},
	} {
		doc, _ := json.Marshal(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": id, "type": "Person",
			"inbox": id + "/inbox", "assertionMethod": map[string]string{"id": tc.keyID, "type": "Multikey",
				"controller": tc.controller, "publicKeyMultibase": activitypub.EncodeMultikey(public)}})
		obj, err := activitypub.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.ActorRecord(obj)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if kept := a.KeyPEM(tc.keyID) != ""; kept != tc.kept {
			t.Errorf("%s: key kept %v, want %v", tc.name, kept, tc.kept)
		}
	}
}
