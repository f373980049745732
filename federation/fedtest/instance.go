package fedtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
)

// Instance is a fake remote server with actors, published objects, inboxes,
// WebFinger and NodeInfo. Create one with Network.NewInstance.
type Instance struct {
	Host    string // e.g. "mastodon.test"
	network *Network

	mu          sync.Mutex
	software    string
	failure     Failure
	signedFetch bool
	hangOn      string               // a path whose GETs are held unanswered
	fetches     map[string]int       // GETs received, by path
	actors      map[string]*Actor    // by username
	objects     map[string][]byte    // published documents, by path
	keys        map[string]remoteKey // keys of senders, by keyId
	lastID      int
	deliveries  []Delivery
	// arrived is closed and replaced whenever a delivery is recorded, to
	// wake every awaiter at once; fetched, whenever a GET is counted.
	arrived chan struct{}
	fetched chan struct{}
}

// Failure makes an instance misbehave on deliveries (POSTs to its inboxes),
// the way an overloaded, gone or stuck server does. Fetches, WebFinger and
// NodeInfo keep working. The zero value accepts deliveries normally.
type Failure struct {
	// Status, when set, answers each delivery with this status (503, 429,
	// 410...) instead of accepting it.
	Status int
	// RetryAfter goes with Status as a Retry-After header, in whole seconds.
	RetryAfter time.Duration
	// Hang holds each delivery unanswered until the sender gives up.
	Hang bool
	// Times, when set, limits the failure to that many deliveries; the
	// instance then accepts deliveries again.
	Times int
}

// NewInstance adds a fake server for host to the network. It claims to run
// Mastodon until told otherwise with SetSoftware.
func (n *Network) NewInstance(host string) *Instance {
	n.tb.Helper()
	i := &Instance{
		Host:     hostOnly(host),
		network:  n,
		software: "mastodon",
		actors:   make(map[string]*Actor),
		objects:  make(map[string][]byte),
		keys:     make(map[string]remoteKey),
		fetches:  make(map[string]int),
		fetched:  make(chan struct{}),
		arrived:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", i.serveWebFinger)
	mux.HandleFunc("GET /.well-known/nodeinfo", i.serveNodeInfoLinks)
	mux.HandleFunc("GET /nodeinfo/2.1", i.serveNodeInfo)
	mux.HandleFunc("POST /inbox", i.serveInbox)
	mux.HandleFunc("POST /users/{name}/inbox", i.serveInbox)
	mux.HandleFunc("GET /users/{name}", i.fetchable(i.serveActor))
	mux.HandleFunc("GET /users/{name}/{collection}", i.fetchable(i.serveCollection))
	mux.HandleFunc("GET /", i.fetchable(i.serveObject))
	n.Route(host, i.counted(mux))
	return i
}

// counted counts every GET before h answers it, and holds those of the
// path set with HangOn.
func (i *Instance) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			i.mu.Lock()
			i.fetches[r.URL.Path]++
			close(i.fetched)
			i.fetched = make(chan struct{})
			hang := i.hangOn != "" && i.hangOn == r.URL.Path
			i.mu.Unlock()
			if hang {
				select {
				case <-r.Context().Done():
				case <-i.network.closing:
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Fetches is how many GETs the instance has received for path (no query),
// answered or not: a test counts with it the requests Hearth makes.
func (i *Instance) Fetches(path string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fetches[path]
}

// AwaitFetches waits until the instance has received at least n GETs for
// path, and fails the test if they do not come within timeout.
func (i *Instance) AwaitFetches(tb testing.TB, path string, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		i.mu.Lock()
		got, fetched := i.fetches[path], i.fetched
		i.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-fetched:
		case <-deadline.C:
			tb.Fatalf("fedtest: %s received %d GETs of %s within %v, want %d", i.Host, got, path, timeout, n)
			return
		}
	}
}

// HangOn holds every GET of path unanswered until the requester gives up,
// as a stuck server does; "" restores normal service.
func (i *Instance) HangOn(path string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.hangOn = path
}

// URL is the absolute URL of path on this instance.
func (i *Instance) URL(path string) string { return "http://" + i.Host + path }

// SharedInbox is the instance's shared inbox.
func (i *Instance) SharedInbox() string { return i.URL("/inbox") }

// SetSoftware sets the software name the instance reports in NodeInfo.
func (i *Instance) SetSoftware(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.software = name
}

// SetFailure makes the following deliveries fail as f says; the zero
// Failure restores normal service.
func (i *Instance) SetFailure(f Failure) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.failure = f
}

// RequireSignedFetch turns Mastodon's secure mode on or off: when on,
// unsigned GETs of actors, collections and objects get 401 and signed ones
// must verify. WebFinger and NodeInfo stay public. The instance itself
// fetches senders' keys without signing.
func (i *Instance) RequireSignedFetch(required bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.signedFetch = required
}

func (i *Instance) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDocument))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	d := Delivery{Inbox: i.URL(r.URL.Path), Host: i.Host, Raw: body, Header: r.Header.Clone(), At: time.Now()}
	if json.Unmarshal(body, &d.Activity) != nil {
		d.Activity = nil
	}
	who, err := i.verify(r, body)
	d.KeyID = who.keyID
	if err == nil {
		err = checkActor(who, d.Activity)
	}
	d.Verified = err == nil
	if err != nil {
		d.Err = err.Error()
	}

	failure := i.takeFailure()
	name := r.PathValue("name")
	switch {
	case failure.Hang:
		i.record(d)
		select {
		case <-r.Context().Done():
		case <-i.network.closing:
		}
		return
	case failure.Status != 0:
		d.Status = failure.Status
		if failure.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(failure.RetryAfter/time.Second)))
		}
	case name != "" && i.actor(name) == nil:
		d.Status = http.StatusNotFound
	case !d.Verified:
		d.Status = http.StatusUnauthorized
	default:
		d.Status = http.StatusAccepted
	}
	i.record(d)
	if d.Status == http.StatusAccepted {
		w.WriteHeader(d.Status)
		return
	}
	reason := http.StatusText(d.Status)
	if d.Status == http.StatusUnauthorized {
		reason = d.Err
	}
	http.Error(w, reason, d.Status)
}

// checkActor refuses an activity whose actor is not the key's owner:
// Mastodon drops those unless they carry a linked-data signature, which the
// fake does not check.
func checkActor(who signer, activity map[string]any) error {
	actor := idOf(activity["actor"])
	if actor != who.owner {
		return fmt.Errorf("signed by %s, whose owner %s is not the activity's actor %q", who.keyID, who.owner, actor)
	}
	return nil
}

// idOf reads an ActivityStreams reference: a string, or an object with id.
func idOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		id, _ := v["id"].(string)
		return id
	}
	return ""
}

func (i *Instance) takeFailure() Failure {
	i.mu.Lock()
	defer i.mu.Unlock()
	f := i.failure
	if i.failure.Times > 0 {
		i.failure.Times--
		if i.failure.Times == 0 {
			i.failure = Failure{}
		}
	}
	return f
}

// fetchable guards a GET handler with the signed-fetch knob.
func (i *Instance) fetchable(serve http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		required := i.signedFetch
		i.mu.Unlock()
		if required {
			if _, err := i.verify(r, nil); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		serve(w, r)
	}
}

func (i *Instance) actor(username string) *Actor {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.actors[username]
}

func (i *Instance) serveActor(w http.ResponseWriter, r *http.Request) {
	a := i.actor(r.PathValue("name"))
	if a == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, activitypub.ContentType, a.document())
}

func (i *Instance) serveCollection(w http.ResponseWriter, r *http.Request) {
	a := i.actor(r.PathValue("name"))
	collection := r.PathValue("collection")
	if a == nil || (collection != "followers" && collection != "following" && collection != "outbox") {
		i.serveObject(w, r)
		return
	}
	writeJSON(w, activitypub.ContentType, map[string]any{
		"@context":   "https://www.w3.org/ns/activitystreams",
		"id":         a.ID + "/" + collection,
		"type":       "OrderedCollection",
		"totalItems": 0,
	})
}

func (i *Instance) serveObject(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	doc, ok := i.objects[r.URL.Path]
	i.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", activitypub.ContentType)
	_, _ = w.Write(doc)
}

func (i *Instance) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	resource := r.URL.Query().Get("resource")
	i.mu.Lock()
	var found *Actor
	for _, a := range i.actors {
		if resource == "acct:"+a.Handle || resource == a.ID {
			found = a
		}
	}
	i.mu.Unlock()
	if found == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, "application/jrd+json", map[string]any{
		"subject": "acct:" + found.Handle,
		"aliases": []string{found.ID},
		"links": []map[string]string{
			{"rel": "self", "type": activitypub.ContentType, "href": found.ID},
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": found.ID},
			{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": i.URL("/authorize_interaction?uri={uri}")},
		},
	})
}

func (i *Instance) serveNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, "application/json", map[string]any{
		"links": []map[string]string{{
			"rel":  "http://nodeinfo.diaspora.software/ns/schema/2.1",
			"href": i.URL("/nodeinfo/2.1"),
		}},
	})
}

func (i *Instance) serveNodeInfo(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	software, users := i.software, len(i.actors)
	i.mu.Unlock()
	writeJSON(w, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"`, map[string]any{
		"version":           "2.1",
		"software":          map[string]string{"name": software, "version": "1.0.0"},
		"protocols":         []string{"activitypub"},
		"services":          map[string][]string{"inbound": {}, "outbound": {}},
		"openRegistrations": false,
		"usage":             map[string]any{"users": map[string]int{"total": users}},
		"metadata":          map[string]any{},
	})
}

func writeJSON(w http.ResponseWriter, contentType string, doc any) {
	body, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

// newID mints a fresh id under the actor's IRI, e.g. .../users/alice/notes/3.
func (i *Instance) newID(a *Actor, kind string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lastID++
	return a.ID + "/" + kind + "/" + strconv.Itoa(i.lastID)
}

// store publishes doc at id, which must be on this instance, its host
// spelled any way.
func (i *Instance) store(id string, doc map[string]any) {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "http" || hostOnly(u.Host) != i.Host || !strings.HasPrefix(u.Path, "/") {
		panic(fmt.Sprintf("fedtest: %s cannot publish %s, which is on another host", i.Host, id))
	}
	path := u.Path
	body, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("fedtest: publishing %s: %v", id, err))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.objects[path] = body
}
