package fedtest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/federation/signature"
)

const wait = 5 * time.Second

// fediverse is a network with a Mastodon server hosting alice and a Lemmy
// server hosting bob, who will be sending to alice.
type fediverse struct {
	network *fedtest.Network
	masto   *fedtest.Instance
	alice   *fedtest.Actor
	lemmy   *fedtest.Instance
	bob     *fedtest.Actor
}

func newFediverse(t *testing.T) fediverse {
	network := fedtest.NewNetwork(t)
	f := fediverse{network: network, masto: network.NewInstance("mastodon.test"), lemmy: network.NewInstance("lemmy.test")}
	f.alice = f.masto.NewActor("alice")
	f.bob = f.lemmy.NewActor("bob")
	return f
}

func do(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// statusOf returns a function that takes a request's results and returns the
// response status, so that statusOf(t)(client.Get(url)) reads in one line.
func statusOf(t *testing.T) func(*http.Response, error) int {
	return func(resp *http.Response, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
}

func getJSON(t *testing.T, client *http.Client, url string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, client, req)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d %s", url, code, body)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return doc
}

func TestInstanceVerifiesSignedPost(t *testing.T) {
	f := newFediverse(t)
	follow := f.bob.Follow(f.alice.ID)
	if got := statusOf(t)(f.bob.Post(t.Context(), f.alice.Inbox, follow)); got != http.StatusAccepted {
		t.Fatalf("signed Follow to alice's inbox: status %d, want 202", got)
	}
	if got := statusOf(t)(f.bob.Post(t.Context(), f.alice.SharedInbox, follow)); got != http.StatusAccepted {
		t.Fatalf("signed Follow to the shared inbox: status %d, want 202", got)
	}

	deliveries := f.masto.AwaitDeliveries(t, 2, wait)
	for i, inbox := range []string{f.alice.Inbox, "http://mastodon.test/inbox"} {
		d := deliveries[i]
		if !d.Verified || d.Inbox != inbox || d.Host != "mastodon.test" || d.KeyID != f.bob.KeyID || d.Type() != "Follow" || d.Status != http.StatusAccepted {
			t.Errorf("delivery %d: got %v, want a verified Follow to %s signed by %s", i, d, inbox, f.bob.KeyID)
		}
		if d.Activity["id"] != follow["id"] {
			t.Errorf("delivery %d: activity id %v, want %v", i, d.Activity["id"], follow["id"])
		}
	}
}

func TestInstanceRefuses(t *testing.T) {
	f := newFediverse(t)
	carol := f.lemmy.NewActor("carol")
	follow := f.bob.Follow(f.alice.ID)
	body, err := json.Marshal(follow)
	if err != nil {
		t.Fatal(err)
	}
	post := func(t *testing.T, url string, sent []byte) *http.Request {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(sent))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", activitypub.ContentType)
		return req
	}
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		status  int
		reason  string
	}{
		{
			name: "tampered body",
			request: func(t *testing.T) *http.Request {
				req := post(t, f.alice.Inbox, bytes.Replace(body, []byte("Follow"), []byte("Block"), 1))
				if err := f.bob.Sign(req, body); err != nil {
					t.Fatal(err)
				}
				return req
			},
			status: http.StatusUnauthorized,
			reason: "digest header does not match the body",
		},
		{
			name:    "unsigned",
			request: func(t *testing.T) *http.Request { return post(t, f.alice.Inbox, body) },
			status:  http.StatusUnauthorized,
			reason:  "not signed",
		},
		{
			name: "signed with another key",
			request: func(t *testing.T) *http.Request {
				impostor := *f.bob
				impostor.Key = carol.Key
				req := post(t, f.alice.Inbox, body)
				if err := impostor.Sign(req, body); err != nil {
					t.Fatal(err)
				}
				return req
			},
			status: http.StatusUnauthorized,
			reason: "signature does not verify",
		},
		{
			name: "signer is not the actor",
			request: func(t *testing.T) *http.Request {
				req := post(t, f.alice.Inbox, body)
				if err := carol.Sign(req, body); err != nil {
					t.Fatal(err)
				}
				return req
			},
			status: http.StatusUnauthorized,
			reason: "is not the activity's actor",
		},
		{
			name: "stale date",
			request: func(t *testing.T) *http.Request {
				req := post(t, f.alice.Inbox, body)
				req.Header.Set("Date", time.Now().Add(-66*time.Minute).UTC().Format(http.TimeFormat))
				if err := f.bob.Sign(req, body); err != nil {
					t.Fatal(err)
				}
				return req
			},
			status: http.StatusUnauthorized,
			reason: "old",
		},
		{
			name: "digest not signed",
			request: func(t *testing.T) *http.Request {
				req := post(t, f.alice.Inbox, body)
				// Sign as a GET would, then add a correct but unsigned Digest.
				if err := f.bob.Sign(req, nil); err != nil {
					t.Fatal(err)
				}
				other := post(t, f.alice.Inbox, body)
				if err := f.bob.Sign(other, body); err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Digest", other.Header.Get("Digest"))
				return req
			},
			status: http.StatusUnauthorized,
			reason: "digest is not among the signed headers",
		},
		{
			name: "inbox of nobody",
			request: func(t *testing.T) *http.Request {
				req := post(t, f.masto.URL("/users/nobody/inbox"), body)
				if err := f.bob.Sign(req, body); err != nil {
					t.Fatal(err)
				}
				return req
			},
			status: http.StatusNotFound,
		},
	}
	for i, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			code, text := do(t, f.network.Client(), test.request(t))
			if code != test.status {
				t.Fatalf("status %d %q, want %d", code, text, test.status)
			}
			d := f.masto.AwaitDeliveries(t, i+1, wait)[i]
			if test.status == http.StatusUnauthorized && (d.Verified || !strings.Contains(d.Err, test.reason)) {
				t.Errorf("recorded %v, want refused because %q", d, test.reason)
			}
			if d.Status != test.status {
				t.Errorf("recorded status %d, want %d", d.Status, test.status)
			}
		})
	}
}

// TestHearthSignerIsVerified checks Hearth's signer against the fake, which
// verifies with go-fed on its own: the two must agree on the wire format.
func TestHearthSignerIsVerified(t *testing.T) {
	f := newFediverse(t)
	key, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := activitypub.EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	group := "http://hearth.test/g/grief"
	f.network.Route("hearth.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/g/grief" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", activitypub.ContentType)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id":        group,
			"type":      "Group",
			"publicKey": map[string]string{"id": group + "#main-key", "owner": group, "publicKeyPem": pem},
		})
	}))
	body := []byte(`{"type":"Announce","actor":"` + group + `","object":"http://lemmy.test/users/bob/notes/1"}`)
	req, err := http.NewRequest(http.MethodPost, f.alice.SharedInbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := signature.NewSigner(group+"#main-key", key).SignPost(req, body); err != nil {
		t.Fatal(err)
	}
	if code, text := do(t, f.network.Client(), req); code != http.StatusAccepted {
		t.Fatalf("POST signed by Hearth: status %d %q, want 202", code, text)
	}
	if d := f.masto.AwaitDeliveries(t, 1, wait)[0]; !d.Verified {
		t.Fatalf("delivery signed by Hearth not verified: %v", d)
	}
}

func TestRoutingByHost(t *testing.T) {
	network := fedtest.NewNetwork(t)
	a, b := network.NewInstance("a.test"), network.NewInstance("B.test")
	a.NewActor("alice")
	b.NewActor("alice")
	network.Route("hearth.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hearth %s", r.URL.Path)
	}))
	client := network.Client()

	for _, want := range []string{"http://a.test/users/alice", "http://b.test/users/alice"} {
		if got := getJSON(t, client, want)["id"]; got != want {
			t.Errorf("GET %s: id %v", want, got)
		}
	}
	finger := getJSON(t, client, "http://b.test/.well-known/webfinger?resource=acct:alice@b.test")
	if finger["subject"] != "acct:alice@b.test" {
		t.Errorf("WebFinger on b.test: subject %v, want acct:alice@b.test", finger["subject"])
	}
	req, err := http.NewRequest(http.MethodGet, "http://hearth.test:8080/g/grief", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, client, req); code != http.StatusOK || body != "hearth /g/grief" {
		t.Errorf("GET on a routed host: %d %q, want 200 %q", code, body, "hearth /g/grief")
	}
	_, err = client.Get("http://elsewhere.test/")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("GET on a host not on the network: error %v, want a host not found", err)
	}
}

func TestActorDocument(t *testing.T) {
	f := newFediverse(t)
	doc := getJSON(t, f.network.Client(), f.alice.ID)
	endpoints, _ := doc["endpoints"].(map[string]any)
	publicKey, _ := doc["publicKey"].(map[string]any)
	if doc["type"] != "Person" || doc["preferredUsername"] != "alice" || doc["inbox"] != f.alice.Inbox ||
		doc["followers"] != f.alice.Followers || endpoints["sharedInbox"] != "http://mastodon.test/inbox" {
		t.Errorf("actor document %v lacks the expected identity, inbox, followers or shared inbox", doc)
	}
	if publicKey["id"] != f.alice.KeyID || publicKey["owner"] != f.alice.ID {
		t.Errorf("publicKey %v, want id %s owned by %s", publicKey, f.alice.KeyID, f.alice.ID)
	}
	pem, _ := publicKey["publicKeyPem"].(string)
	key, err := activitypub.ParsePublicKey(pem)
	if err != nil || !key.Equal(&f.alice.Key.PublicKey) {
		t.Errorf("publicKeyPem does not hold alice's key (%v)", err)
	}
}

func TestNodeInfoSoftware(t *testing.T) {
	f := newFediverse(t)
	software := func() any {
		links := getJSON(t, f.network.Client(), f.lemmy.URL("/.well-known/nodeinfo"))["links"].([]any)
		href := links[0].(map[string]any)["href"].(string)
		return getJSON(t, f.network.Client(), href)["software"].(map[string]any)["name"]
	}
	if got := software(); got != "mastodon" {
		t.Errorf("default software %v, want mastodon", got)
	}
	f.lemmy.SetSoftware("lemmy")
	if got := software(); got != "lemmy" {
		t.Errorf("software after SetSoftware(lemmy): %v", got)
	}
}

func TestFailureKnobs(t *testing.T) {
	f := newFediverse(t)
	send := func() *http.Response {
		resp, err := f.bob.Post(t.Context(), f.alice.Inbox, f.bob.Follow(f.alice.ID))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusGone} {
		f.masto.SetFailure(fedtest.Failure{Status: code})
		if got := send().StatusCode; got != code {
			t.Errorf("with Failure{Status: %d}: got %d", code, got)
		}
	}

	f.masto.SetFailure(fedtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Minute})
	resp := send()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "120" {
		t.Errorf("rate limited: got %d with Retry-After %q, want 429 with 120", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	f.masto.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable, Times: 2})
	var got []int
	for range 3 {
		got = append(got, send().StatusCode)
	}
	if want := []int{503, 503, 202}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failing twice: statuses %v, want %v", got, want)
	}

	f.masto.SetFailure(fedtest.Failure{})
	if got := send().StatusCode; got != http.StatusAccepted {
		t.Errorf("after clearing the failure: %d, want 202", got)
	}
}

func TestFailureHang(t *testing.T) {
	f := newFediverse(t)
	f.masto.SetFailure(fedtest.Failure{Hang: true})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	resp, err := f.bob.Post(ctx, f.alice.Inbox, f.bob.Follow(f.alice.ID))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("hanging instance answered %d", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the sender's deadline", err)
	}
	if d := f.masto.AwaitDeliveries(t, 1, wait)[0]; d.Status != 0 || !d.Verified {
		t.Errorf("held delivery recorded as %v, want verified and unanswered", d)
	}
}

func TestRequireSignedFetch(t *testing.T) {
	f := newFediverse(t)
	note := f.alice.Publish(map[string]any{"content": "hello", "to": activitypub.Public})
	f.masto.RequireSignedFetch(true)
	client := f.network.Client()

	for _, url := range []string{note, f.alice.ID} {
		if got := statusOf(t)(client.Get(url)); got != http.StatusUnauthorized {
			t.Errorf("unsigned GET %s in secure mode: %d, want 401", url, got)
		}
		if got := statusOf(t)(f.bob.Get(t.Context(), url)); got != http.StatusOK {
			t.Errorf("signed GET %s in secure mode: %d, want 200", url, got)
		}
	}
	if got := statusOf(t)(client.Get(f.masto.URL("/.well-known/webfinger?resource=acct:alice@mastodon.test"))); got != http.StatusOK {
		t.Errorf("WebFinger in secure mode: %d, want 200", got)
	}

	f.masto.RequireSignedFetch(false)
	if got := statusOf(t)(client.Get(note)); got != http.StatusOK {
		t.Errorf("unsigned GET after secure mode is off: %d, want 200", got)
	}
}

func TestPublishedObjectsAreFetchable(t *testing.T) {
	f := newFediverse(t)
	client := f.network.Client()
	create := f.bob.Create(map[string]any{"content": "hi", "to": []string{activitypub.Public}})
	note, _ := create["object"].(map[string]any)
	id, _ := note["id"].(string)
	if !strings.HasPrefix(id, "http://lemmy.test/users/bob/") || create["actor"] != f.bob.ID || note["attributedTo"] != f.bob.ID {
		t.Fatalf("Create %v: want a note by bob under his IRI", create)
	}
	if fetched := getJSON(t, client, id); fetched["content"] != "hi" || fetched["type"] != "Note" {
		t.Errorf("fetched note %v, want bob's Note", fetched)
	}
	if fetched := getJSON(t, client, create["id"].(string)); fetched["type"] != "Create" {
		t.Errorf("fetched activity %v, want the Create", fetched)
	}

	f.bob.Publish(map[string]any{"id": id, "content": "edited"})
	if fetched := getJSON(t, client, id); fetched["content"] != "edited" {
		t.Errorf("after republishing: content %v, want edited", fetched["content"])
	}

	undo := f.bob.Undo(f.bob.Follow(f.alice.ID))
	if inner, _ := undo["object"].(map[string]any); undo["type"] != "Undo" || inner["type"] != "Follow" || undo["id"] == inner["id"] {
		t.Errorf("Undo %v: want a fresh Undo embedding the Follow", undo)
	}
}

func TestAwaitDeliveryWaitsForMatch(t *testing.T) {
	f := newFediverse(t)
	sent := make(chan struct{})
	defer func() { <-sent }()
	go func() {
		defer close(sent)
		for _, activity := range []map[string]any{f.bob.Follow(f.alice.ID), f.bob.Create(map[string]any{"content": "x"})} {
			if resp, err := f.bob.Post(context.Background(), f.alice.Inbox, activity); err == nil {
				resp.Body.Close()
			}
		}
	}()
	d := f.masto.AwaitDelivery(t, wait, fedtest.OfType("Create"))
	if d.ObjectType() != "Note" {
		t.Errorf("matched %v, want the Create of a Note", d)
	}
}

// failureRecorder stands in for a test so that an awaiter's failure can be
// observed without failing the real test.
type failureRecorder struct {
	testing.TB
	message string
}

func (r *failureRecorder) Helper() {}

func (r *failureRecorder) Fatalf(format string, args ...any) {
	r.message = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *failureRecorder) run(await func(testing.TB)) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		await(r)
	}()
	<-done
	return r.message
}

func TestAwaitersFailWithWhatArrived(t *testing.T) {
	f := newFediverse(t)
	if got := statusOf(t)(f.bob.Post(t.Context(), f.alice.Inbox, f.bob.Follow(f.alice.ID))); got != http.StatusAccepted {
		t.Fatalf("Follow: status %d", got)
	}

	message := (&failureRecorder{TB: t}).run(func(tb testing.TB) { f.masto.AwaitDeliveries(tb, 2, 50*time.Millisecond) })
	for _, want := range []string{"received 1 deliveries", "want 2", f.alice.Inbox + " Follow", f.bob.KeyID} {
		if !strings.Contains(message, want) {
			t.Errorf("AwaitDeliveries failure %q does not mention %q", message, want)
		}
	}

	message = (&failureRecorder{TB: t}).run(func(tb testing.TB) { f.masto.AwaitDelivery(tb, 50*time.Millisecond, fedtest.OfType("Announce")) })
	if !strings.Contains(message, "no matching delivery") || !strings.Contains(message, "Follow") {
		t.Errorf("AwaitDelivery failure %q does not list the Follow that arrived", message)
	}
}

func TestFetchesAreCountedAndCanHang(t *testing.T) {
	f := newFediverse(t)
	client := f.network.Client()
	for range 2 {
		statusOf(t)(client.Get(f.alice.ID))
	}
	statusOf(t)(client.Get(f.masto.URL("/.well-known/nodeinfo")))
	if got := f.masto.Fetches("/users/alice"); got != 2 {
		t.Errorf("alice fetched %d times, counted %d", 2, got)
	}

	f.masto.HangOn("/.well-known/nodeinfo")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.masto.URL("/.well-known/nodeinfo"), nil)
	if resp, err := client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("GET of the hanging path: %v, want the requester's deadline", err)
	}
	if got := f.masto.Fetches("/.well-known/nodeinfo"); got != 2 {
		t.Errorf("NodeInfo discovery counted %d times, want 2, the held request among them", got)
	}
	f.masto.AwaitFetches(t, "/.well-known/nodeinfo", 2, wait)
	if got := statusOf(t)(client.Get(f.alice.ID)); got != http.StatusOK {
		t.Errorf("another path while one hangs: %d, want 200", got)
	}
}

func TestMessageSignaturesVerify(t *testing.T) {
	f := newFediverse(t)
	f.bob.MessageSignatures = true
	body := []byte(`{"type":"Follow"}`)
	for _, tc := range []struct {
		method string
		body   []byte
	}{{http.MethodPost, body}, {http.MethodGet, nil}} {
		req, err := http.NewRequest(tc.method, f.alice.Inbox+"?page=1", bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.bob.Sign(req, tc.body); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(req.Header.Get("Signature"), "sig1=:") || req.Header.Get("Date") != "" {
			t.Errorf("%s: not an RFC 9421 signature alone: %v", tc.method, req.Header)
		}
		if err := signature.Verify(req, tc.body, &f.bob.Key.PublicKey, time.Now()); err != nil {
			t.Errorf("%s signed with RFC 9421: %v", tc.method, err)
		}
		if err := signature.Verify(req, []byte(`{"type":"Like"}`), &f.bob.Key.PublicKey, time.Now()); tc.body != nil && err == nil {
			t.Errorf("%s signed with RFC 9421 verifies with another body", tc.method)
		}
	}
}

func TestMessageSignaturesWithAMultikey(t *testing.T) {
	f := newFediverse(t)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.bob.MessageSignatures, f.bob.Ed25519Key = true, key
	body := []byte(`{"type":"Follow"}`)
	req, err := http.NewRequest(http.MethodPost, f.alice.Inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.bob.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	if input := req.Header.Get("Signature-Input"); !strings.Contains(input, `keyid="`+f.bob.MultikeyID+`";alg="ed25519"`) {
		t.Errorf("Signature-Input %s, want the Multikey's id and alg ed25519", input)
	}
	if err := signature.Verify(req, body, key.Public(), time.Now()); err != nil {
		t.Errorf("signed with the Multikey: %v", err)
	}
	req, err = http.NewRequest(http.MethodGet, f.bob.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", activitypub.ContentType)
	resp, err := f.network.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	actor, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := activitypub.Decode(actor)
	if err != nil || len(obj.Multikeys) != 1 || obj.Multikeys[0].ID != f.bob.MultikeyID || !obj.Multikeys[0].Key.Equal(key.Public()) {
		t.Errorf("the actor document publishes %+v, %v, want the Multikey", obj.Multikeys, err)
	}
}
