package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// signedGet fetches url signed by actor, after prepare (when not nil) had
// its say on the request, and returns the status.
func signedGet(t *testing.T, h *runningHearth, actor *fedtest.Actor, url string, prepare func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", activitypub.ContentType)
	if prepare != nil {
		prepare(req)
	}
	if req.Header.Get("Signature") == "" {
		if err := actor.Sign(req, nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := h.network.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tamper signs req over body (nil for a GET) as actor would, then changes
// one character of the signature itself, so that it no longer verifies
// with any key.
func tamper(actor *fedtest.Actor, body []byte) func(*http.Request) {
	return func(r *http.Request) {
		if err := actor.Sign(r, body); err != nil {
			panic(err)
		}
		header := r.Header.Get("Signature")
		i := strings.Index(header, `signature="`) + len(`signature="`)
		flipped := byte('A')
		if header[i] == 'A' {
			flipped = 'B'
		}
		r.Header.Set("Signature", header[:i]+string(flipped)+header[i+1:])
	}
}

// actorOnBrokenHost is an actor whose server answers every request with
// status, signing with a key of the fake fediverse's set.
func actorOnBrokenHost(t *testing.T, h *runningHearth, host string, status int) *fedtest.Actor {
	t.Helper()
	key, err := fedtest.Key()
	if err != nil {
		t.Fatal(err)
	}
	h.network.Route(host, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, http.StatusText(status), status)
	}))
	id := "http://" + host + "/users/someone"
	return &fedtest.Actor{Username: "someone", ID: id, Inbox: id + "/inbox", KeyID: id + "#main-key", Key: key}
}

func TestSignedFetchIsCheckedAsAnInboxPostIs(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"blocked.test"} })
	group := h.createGroup("circle", privateGroup(""))
	page := group + "/outbox?page=true"
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)
	carol := masto.NewActor("carol") // Hearth has never fetched her key
	blocked := h.network.NewInstance("blocked.test")
	spammer := blocked.NewActor("spammer")

	if got := signedGet(t, h, alice, page, nil); got != http.StatusOK {
		t.Fatalf("member's signed fetch: status %d, want 200", got)
	}

	t.Run("stale date is refused before the key is fetched", func(t *testing.T) {
		got := signedGet(t, h, carol, page, func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-2*time.Hour).UTC().Format(http.TimeFormat))
		})
		if got != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", got)
		}
		if n := masto.Fetches("/users/carol"); n != 0 {
			t.Errorf("the key was fetched %d times for a request refused without it", n)
		}
	})
	t.Run("blocked server is refused before the key is fetched", func(t *testing.T) {
		if got := signedGet(t, h, spammer, page, nil); got != http.StatusForbidden {
			t.Errorf("status %d, want 403", got)
		}
		if n := blocked.Fetches("/users/spammer"); n != 0 {
			t.Errorf("the blocked server's key was fetched %d times", n)
		}
	})
	t.Run("a signature that does not verify fetches the key again once", func(t *testing.T) {
		before := masto.Fetches("/users/alice")
		for range 2 {
			if got := signedGet(t, h, alice, page, tamper(alice, nil)); got != http.StatusUnauthorized {
				t.Errorf("tampered signature: status %d, want 401", got)
			}
		}
		if n := masto.Fetches("/users/alice") - before; n != 1 {
			t.Errorf("two tampered requests fetched the key %d times, want once", n)
		}
	})
	t.Run("a rotated key is fetched again", func(t *testing.T) {
		bob.Key = carol.Key
		before := masto.Fetches("/users/bob")
		if got := signedGet(t, h, bob, page, nil); got != http.StatusOK {
			t.Errorf("status %d after bob's key changed, want 200", got)
		}
		if n := masto.Fetches("/users/bob") - before; n != 1 {
			t.Errorf("bob's key was fetched %d times, want once", n)
		}
	})
	t.Run("a key server that is down asks to try again later", func(t *testing.T) {
		down := actorOnBrokenHost(t, h, "down.test", http.StatusServiceUnavailable)
		if got := signedGet(t, h, down, page, nil); got != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", got)
		}
	})
	t.Run("a gone key is refused", func(t *testing.T) {
		gone := actorOnBrokenHost(t, h, "gone.test", http.StatusGone)
		if got := signedGet(t, h, gone, page, nil); got != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", got)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		if status, _ := get(t, h, nil, page); status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", status)
		}
	})
}

// largeCreate is a Create by author of a note that names thousands of
// people, just under the 1 MiB Hearth accepts: the most a sender can make
// Hearth decode.
func largeCreate(t *testing.T, author *fedtest.Actor) []byte {
	t.Helper()
	var to, tags []any
	for i := range 1000 {
		to = append(to, fmt.Sprintf("http://elsewhere.test/users/u%d", i))
	}
	for i := 0; len(tags) < 9000; i++ {
		tags = append(tags, map[string]any{"type": "Mention", "href": fmt.Sprintf("http://elsewhere.test/users/u%d", i),
			"name": fmt.Sprintf("@u%d@elsewhere.test", i)})
	}
	body, err := json.Marshal(author.Create(map[string]any{"content": "<p>hello</p>", "to": to, "tag": tags}))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > activitypub.MaxDocumentSize {
		t.Fatalf("the large Create is %d bytes, more than Hearth takes", len(body))
	}
	return body
}

// Not parallel: it counts the allocations of the whole process.
func TestBadlySignedLargeActivityCostsLittle(t *testing.T) {
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	join(t, alice, masto, group)
	body := largeCreate(t, alice)
	refuse := func() {
		if got := rawPost(t, h, group+"/inbox", body, tamper(alice, body)); got != http.StatusUnauthorized {
			t.Fatalf("badly signed: status %d, want 401", got)
		}
	}
	const runs = 3
	allocs := testing.AllocsPerRun(runs, refuse)
	start := time.Now()
	for range runs {
		refuse()
	}
	t.Logf("refusing a badly signed Create of %d bytes: %.0f allocations, %v", len(body), allocs, time.Since(start)/runs)
	// Decoding it in full alone takes over 500,000.
	if allocs > 20000 {
		t.Errorf("refusing a badly signed Create of %d bytes took %.0f allocations: it was decoded before its signature was checked", len(body), allocs)
	}
}

func TestMembersWhoseServersSignWithEd25519Multikeys(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	bob := masto.NewActor("bob")
	join(t, bob, masto, group)
	fedify := h.network.NewInstance("fedify.test")
	alice := fedify.NewActor("alice")
	alice.MessageSignatures, alice.Ed25519Key = true, ed25519Key(t)
	join(t, alice, fedify, group)
	create := alice.Create(publicNote(alice, group, "Signed with Ed25519."))
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
}

func TestMultikeysOfOtherActorsAreNotTaken(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	fedify := h.network.NewInstance("fedify.test")
	alice := fedify.NewActor("alice")
	// Mallory lists a key as hers that says it is Alice's.
	mallory := fedify.NewActor("mallory")
	mallory.MessageSignatures, mallory.Ed25519Key = true, ed25519Key(t)
	mallory.Overrides = map[string]any{"assertionMethod": map[string]string{
		"id":                 mallory.MultikeyID,
		"type":               "Multikey",
		"controller":         alice.ID,
		"publicKeyMultibase": activitypub.EncodeMultikey(mallory.Ed25519Key.Public().(ed25519.PublicKey)),
	}}
	if status := post(t, mallory, group+"/inbox", mallory.Follow(group)); status != http.StatusUnauthorized {
		t.Errorf("a Follow signed with the Multikey: status %d, want 401", status)
	}
	members, err := h.svc.Members(context.Background(), "grief", storage.Member)
	if err != nil || len(members) != 0 {
		t.Errorf("members after a Follow signed with another actor's key: %v, %v", members, err)
	}
}

func ed25519Key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestMessageSignaturesAreAcceptedOnTheFirstTry(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	bob := masto.NewActor("bob")
	join(t, bob, masto, group)
	// Servers built on Fedify sign with RFC 9421 first, and fall back to
	// draft-cavage only when refused.
	fedify := h.network.NewInstance("fedify.test")
	alice := fedify.NewActor("alice")
	alice.MessageSignatures = true
	join(t, alice, fedify, group)
	create := alice.Create(publicNote(alice, group, "Signed the new way."))
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
}

// TestANewSignerIsFetchedOnceWhateverItSends: the account that signed a
// request is fetched once and kept, whether its activity was acted on in
// a transaction of its own (a Follow), ignored (a type Hearth does not
// handle) or refused after the signature verified (an activity it signed
// for someone else on its server).
func TestANewSignerIsFetchedOnceWhateverItSends(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	for _, name := range []string{"follows", "ignored", "refused"} {
		actor := masto.NewActor(name)
		var activity map[string]any
		switch name {
		case "follows":
			activity = actor.Follow(group)
		case "ignored":
			activity = map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": actor.ID + "/activities/1",
				"type": "Arrive", "actor": actor.ID, "to": []string{group}}
		case "refused":
			activity = actor.Follow(group)
			activity["actor"] = masto.URL("/users/someone-else")
		}
		for range 2 {
			post(t, actor, group+"/inbox", activity)
		}
		if n := masto.Fetches("/users/" + name); n != 1 {
			t.Errorf("%s: its account fetched %d times, want once", name, n)
		}
		h.view(func(tx *storage.Tx) error {
			if _, err := tx.Actor(actor.ID); err != nil {
				t.Errorf("%s: not cached: %v", name, err)
			}
			return nil
		})
	}
}
