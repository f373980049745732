package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

const (
	acceptActivity = "application/activity+json"
	acceptLDAS     = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	acceptLD       = "application/ld+json"
	acceptMastodon = "application/activity+json, application/ld+json"
	acceptBrowser  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	wantActivityCT = "application/activity+json; charset=utf-8"
)

// instance is a Hearth server on a real listener, with its store and log.
type instance struct {
	t     *testing.T
	base  *url.URL
	svc   *federation.Service
	store *storage.Store
	clock *atomic.Int64 // Unix milliseconds the store stamps rows with
	log   *fedtest.LogBuffer
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	ctx := context.Background()
	clock := new(atomic.Int64)
	clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
	store, err := storage.Open(ctx, storagetest.Location(t),
		storage.WithClock(func() time.Time { return time.UnixMilli(clock.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	var router http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { router.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &fedtest.LogBuffer{}
	svc, err := federation.New(ctx, federation.Config{
		BaseURL:     base,
		Version:     "1.2.3",
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		GenerateKey: fedtest.Key,
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	router = testRoutes(t, svc, store)
	return &instance{t: t, base: base, svc: svc, store: store, clock: clock, log: logs}
}

// createGroup stores a group through the service, as the CLI does.
func (in *instance) createGroup(g storage.Group) storage.Group {
	in.t.Helper()
	if err := in.svc.CreateGroup(context.Background(), &g); err != nil {
		in.t.Fatal(err)
	}
	return g
}

func (in *instance) update(fn func(*storage.Tx) error) {
	in.t.Helper()
	if err := in.store.Update(context.Background(), fn); err != nil {
		in.t.Fatal(err)
	}
}

// response is what a fetch returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch does what a remote server does: a GET (or HEAD) of an absolute URL
// or of a path on the instance, with the given Accept header.
func (in *instance) fetch(method, target, accept string) response {
	in.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = in.base.String() + target
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		in.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "test-peer/1.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// get fetches target, insists on 200 and decodes the JSON body.
func (in *instance) get(target, accept string) (map[string]any, response) {
	in.t.Helper()
	res := in.fetch(http.MethodGet, target, accept)
	if res.status != http.StatusOK {
		in.t.Fatalf("GET %s: status %d, want 200; body %s", target, res.status, res.body)
	}
	var doc map[string]any
	if err := json.Unmarshal(res.body, &doc); err != nil {
		in.t.Fatalf("GET %s: %v; body %s", target, err, res.body)
	}
	return doc, res
}

func (in *instance) webFingerURL(resource string) string {
	return "/.well-known/webfinger?resource=" + url.QueryEscape(resource)
}

func str(doc map[string]any, key string) string {
	s, _ := doc[key].(string)
	return s
}

func object(doc map[string]any, key string) map[string]any {
	m, _ := doc[key].(map[string]any)
	return m
}

// assertAbsoluteOn fails unless iri is an absolute URL on the instance.
func assertAbsoluteOn(t *testing.T, base *url.URL, field, iri string) {
	t.Helper()
	u, err := url.Parse(iri)
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host || u.Path == "" {
		t.Errorf("%s = %q, want an absolute URL on %s", field, iri, base)
	}
}

func TestGroupActorContentNegotiation(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	tests := []struct {
		name      string
		accept    string
		wantType  string
		wantActor bool
	}{
		{"activity+json", acceptActivity, wantActivityCT, true},
		{"ld+json with the ActivityStreams profile", acceptLDAS, wantActivityCT, true},
		{"plain ld+json", acceptLD, wantActivityCT, true},
		{"Mastodon's Accept", acceptMastodon, wantActivityCT, true},
		{"browser", acceptBrowser, "text/html; charset=utf-8", false},
		{"no Accept", "", "text/html; charset=utf-8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := in.fetch(http.MethodGet, "/g/grief", tt.accept)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200", res.status)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if got := res.header.Values("Vary"); !slices.Contains(got, "Accept") {
				t.Errorf("Vary = %q, want it to contain %q", got, "Accept")
			}
			if !tt.wantActor {
				if got := string(res.body); !strings.HasPrefix(got, "<!doctype html>") || !strings.Contains(got, "@grief@") {
					t.Errorf("body = %q, want the group page", got)
				}
				return
			}
			var actor map[string]any
			if err := json.Unmarshal(res.body, &actor); err != nil {
				t.Fatalf("actor is not JSON: %v", err)
			}
			if got, want := str(actor, "id"), in.base.String()+"/g/grief"; got != want {
				t.Errorf("id = %q, want %q", got, want)
			}
			if got := res.header.Get("Cache-Control"); got != "max-age=0, private" {
				t.Errorf("Cache-Control = %q, want %q", got, "max-age=0, private")
			}
		})
	}
}

func TestGroupActorHasWhatMastodonRequires(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	stored := in.createGroup(storage.Group{Name: "grief"})
	actor, _ := in.get("/g/grief", acceptActivity)
	id := in.base.String() + "/g/grief"

	contexts, _ := actor["@context"].([]any)
	for _, want := range []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"} {
		if !slices.Contains(contexts, any(want)) {
			t.Errorf("@context = %v, want it to include %q", actor["@context"], want)
		}
	}
	for field, want := range map[string]string{
		"id":                id,
		"type":              "Group",
		"preferredUsername": "grief",
		"url":               id,
		"attributedTo":      id + "/moderators",
	} {
		if got := str(actor, field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	for _, field := range []string{"inbox", "outbox", "followers", "featured"} {
		assertAbsoluteOn(t, in.base, field, str(actor, field))
	}
	sharedInbox := str(object(actor, "endpoints"), "sharedInbox")
	assertAbsoluteOn(t, in.base, "endpoints.sharedInbox", sharedInbox)
	if got, want := sharedInbox, in.base.String()+"/inbox"; got != want {
		t.Errorf("endpoints.sharedInbox = %q, want %q", got, want)
	}
	if _, err := time.Parse(time.RFC3339, str(actor, "published")); err != nil {
		t.Errorf("published = %q: %v", str(actor, "published"), err)
	}

	key := object(actor, "publicKey")
	if got := str(key, "owner"); got != id {
		t.Errorf("publicKey.owner = %q, want %q", got, id)
	}
	if got, want := str(key, "id"), id+"#main-key"; got != want {
		t.Errorf("publicKey.id = %q, want %q", got, want)
	}
	served, err := activitypub.ParsePublicKey(str(key, "publicKeyPem"))
	if err != nil {
		t.Fatalf("publicKeyPem: %v", err)
	}
	signing, err := activitypub.ParsePrivateKey(stored.PrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !served.Equal(&signing.PublicKey) {
		t.Error("publicKeyPem is not the public half of the key the group signs with")
	}
}

func TestGroupActorReflectsSettings(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{
		Name:        "grief",
		DisplayName: "Grief & Loss",
		Summary:     "A place <for> us & ours.\r\n\r\nFirst line\nsecond line\n\n\n",
		IconURL:     "https://images.example/grief.png",
		Visibility:  storage.Public,
		Join:        storage.JoinOpen,
		Posting:     storage.PostingMembers,
	})
	in.createGroup(storage.Group{
		Name:       "recovery",
		Visibility: storage.Private,
		Join:       storage.JoinApproval,
		Posting:    storage.PostingModerators,
	})
	in.createGroup(storage.Group{Name: "closed", Join: storage.JoinClosed})

	tests := []struct {
		group, field string
		want         any
	}{
		{"grief", "name", "Grief & Loss"},
		{"grief", "summary", "<p>A place &lt;for&gt; us &amp; ours.</p><p>First line<br>second line</p>"},
		{"grief", "icon", map[string]any{"type": "Image", "url": "https://images.example/grief.png"}},
		{"grief", "manuallyApprovesFollowers", false},
		{"grief", "discoverable", true},
		{"grief", "indexable", false},
		{"grief", "postingRestrictedToMods", false},
		{"recovery", "name", "recovery"},
		{"recovery", "summary", nil},
		{"recovery", "icon", nil},
		{"recovery", "manuallyApprovesFollowers", true},
		{"recovery", "discoverable", false},
		{"recovery", "indexable", false},
		{"recovery", "postingRestrictedToMods", true},
		{"closed", "manuallyApprovesFollowers", true},
	}
	actors := map[string]map[string]any{}
	for _, tt := range tests {
		t.Run(tt.group+"/"+tt.field, func(t *testing.T) {
			actor, ok := actors[tt.group]
			if !ok {
				actor, _ = in.get("/g/"+tt.group, acceptActivity)
				actors[tt.group] = actor
			}
			got, present := actor[tt.field]
			if tt.want == nil {
				if present {
					t.Errorf("%s = %#v, want it absent", tt.field, got)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.field, got, tt.want)
			}
		})
	}
}

func TestWebFingerRoundTrip(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	host := in.base.Host
	tests := []struct {
		resource, wantType string
	}{
		{"acct:grief@" + host, "Group"},
		{"acct:" + host + "@" + host, "Application"},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			jrd, res := in.get(in.webFingerURL(tt.resource), "application/jrd+json")
			if got, want := res.header.Get("Content-Type"), "application/jrd+json; charset=utf-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, "*")
			}
			if got := str(jrd, "subject"); got != tt.resource {
				t.Errorf("subject = %q, want %q", got, tt.resource)
			}
			var self string
			links, _ := jrd["links"].([]any)
			for _, l := range links {
				link, _ := l.(map[string]any)
				if str(link, "rel") == "self" && str(link, "type") == "application/activity+json" {
					self = str(link, "href")
				}
			}
			if self == "" {
				t.Fatalf("no self link of type application/activity+json in %v", links)
			}
			if aliases, _ := jrd["aliases"].([]any); !slices.Contains(aliases, any(self)) {
				t.Errorf("aliases = %v, want them to include %q", aliases, self)
			}

			// Mastodon fetches the actor and accepts it only if its
			// preferredUsername at the id's host finger back to the same id.
			actor, _ := in.get(self, acceptMastodon)
			if got := str(actor, "id"); got != self {
				t.Errorf("actor id = %q, want the self link %q", got, self)
			}
			if got := str(actor, "type"); got != tt.wantType {
				t.Errorf("actor type = %q, want %q", got, tt.wantType)
			}
			idURL, err := url.Parse(str(actor, "id"))
			if err != nil {
				t.Fatal(err)
			}
			if got := "acct:" + str(actor, "preferredUsername") + "@" + idURL.Host; got != tt.resource {
				t.Errorf("preferredUsername@host = %q, want the subject %q", got, tt.resource)
			}
		})
	}
}

func TestWebFingerResources(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	host, base := in.base.Host, in.base.String()
	groupSubject, instanceSubject := "acct:grief@"+host, "acct:"+host+"@"+host
	tests := []struct {
		name, query string
		wantStatus  int
		wantSubject string
	}{
		{"acct URI", "resource=acct:grief@" + host, 200, groupSubject},
		{"handle without acct:", "resource=grief@" + host, 200, groupSubject},
		{"handle with a leading @", "resource=@grief@" + host, 200, groupSubject},
		{"capitals as typed into a search box", "resource=acct:Grief@" + strings.ToUpper(host), 200, groupSubject},
		{"actor URL", "resource=" + base + "/g/grief", 200, groupSubject},
		{"instance actor URL", "resource=" + base + "/actor", 200, instanceSubject},
		{"instance actor handle", "resource=acct:" + host + "@" + host, 200, instanceSubject},
		{"no resource", "", 400, ""},
		{"empty resource", "resource=", 400, ""},
		{"acct without a host", "resource=acct:grief", 400, ""},
		{"bare name", "resource=grief", 400, ""},
		{"empty acct", "resource=acct:", 400, ""},
		{"another scheme", "resource=mailto:grief@" + host, 400, ""},
		{"another host", "resource=acct:grief@elsewhere.example", 404, ""},
		{"unknown group", "resource=acct:nobody@" + host, 404, ""},
		{"name no group can have", "resource=acct:no-such.name@" + host, 404, ""},
		{"two @ before the host", "resource=acct:grief@elsewhere.example@" + host, 400, ""},
		{"a right-to-left override in the name", "resource=acct:grief\u202e@" + host, 400, ""},
		{"actor URL with an escaped space", "resource=" + base + "/g/gr%2520ief", 404, ""},
		{"actor URL on another host", "resource=https://elsewhere.example/g/grief", 404, ""},
		{"URL that is not an actor", "resource=" + base + "/g/grief/outbox", 404, ""},
		{"unknown group URL", "resource=" + base + "/g/nobody", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			res := in.fetch(http.MethodGet, "/.well-known/webfinger?"+q.Encode(), "application/jrd+json")
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, "*")
			}
			var doc map[string]any
			if err := json.Unmarshal(res.body, &doc); err != nil {
				t.Fatalf("body is not JSON: %v; %s", err, res.body)
			}
			if tt.wantStatus != 200 {
				if str(doc, "error") == "" {
					t.Errorf("error body = %s, want an error reason", res.body)
				}
				return
			}
			if got := str(doc, "subject"); got != tt.wantSubject {
				t.Errorf("subject = %q, want %q", got, tt.wantSubject)
			}
		})
	}
}

func TestWebFingerRelFilter(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief", IconURL: "https://images.example/grief.png"})
	tests := []struct {
		rels []string
		want []string
	}{
		{nil, []string{"self", "http://webfinger.net/rel/profile-page", "http://webfinger.net/rel/avatar"}},
		{[]string{"self"}, []string{"self"}},
		{[]string{"self", "http://webfinger.net/rel/avatar"}, []string{"self", "http://webfinger.net/rel/avatar"}},
		{[]string{"http://ostatus.org/schema/1.0/subscribe"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.rels, ","), func(t *testing.T) {
			q := url.Values{"resource": {"acct:grief@" + in.base.Host}, "rel": tt.rels}
			jrd, _ := in.get("/.well-known/webfinger?"+q.Encode(), "")
			got := []string{}
			links, _ := jrd["links"].([]any)
			for _, l := range links {
				link, _ := l.(map[string]any)
				got = append(got, str(link, "rel"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("link rels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHostMetaPointsAtWebFinger(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	wantTemplate := in.base.String() + "/.well-known/webfinger?resource={uri}"

	res := in.fetch(http.MethodGet, "/.well-known/host-meta", "")
	if res.status != http.StatusOK {
		t.Fatalf("host-meta: status %d, want 200", res.status)
	}
	if got, want := res.header.Get("Content-Type"), "application/xrd+xml; charset=utf-8"; got != want {
		t.Errorf("host-meta Content-Type = %q, want %q", got, want)
	}
	var xrd struct {
		XMLName xml.Name
		Links   []struct {
			Rel      string `xml:"rel,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Link"`
	}
	if err := xml.Unmarshal(res.body, &xrd); err != nil {
		t.Fatalf("host-meta is not XML: %v; %s", err, res.body)
	}
	if got, want := xrd.XMLName, (xml.Name{Space: "http://docs.oasis-open.org/ns/xri/xrd-1.0", Local: "XRD"}); got != want {
		t.Errorf("root element = %v, want %v", got, want)
	}
	if len(xrd.Links) != 1 || xrd.Links[0].Rel != "lrdd" {
		t.Fatalf("links = %+v, want one lrdd link", xrd.Links)
	}
	if got := xrd.Links[0].Template; got != wantTemplate {
		t.Errorf("lrdd template = %q, want %q", got, wantTemplate)
	}

	// An older server fills in the template and fingers the group with it.
	filled := strings.Replace(xrd.Links[0].Template, "{uri}", url.QueryEscape("acct:grief@"+in.base.Host), 1)
	jrd, _ := in.get(filled, "")
	if got, want := str(jrd, "subject"), "acct:grief@"+in.base.Host; got != want {
		t.Errorf("subject via host-meta = %q, want %q", got, want)
	}

	doc, _ := in.get("/.well-known/host-meta.json", "")
	links, _ := doc["links"].([]any)
	if len(links) != 1 {
		t.Fatalf("host-meta.json links = %v, want one", links)
	}
	link, _ := links[0].(map[string]any)
	if got := str(link, "rel"); got != "lrdd" {
		t.Errorf("host-meta.json rel = %q, want %q", got, "lrdd")
	}
	if got := str(link, "template"); got != wantTemplate {
		t.Errorf("host-meta.json template = %q, want %q", got, wantTemplate)
	}
}

func TestNodeInfo(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	grief := in.createGroup(storage.Group{Name: "grief"})
	recovery := in.createGroup(storage.Group{Name: "recovery", Visibility: storage.Private})
	in.update(func(tx *storage.Tx) error {
		for _, m := range []struct {
			group int64
			actor string
			state storage.MemberState
		}{
			{grief.ID, "https://a.example/users/alice", storage.Member},
			{recovery.ID, "https://a.example/users/alice", storage.Member},
			{grief.ID, "https://b.example/users/bob", storage.Member},
			{grief.ID, "https://c.example/users/carol", storage.Pending},
			{recovery.ID, "https://d.example/users/dave", storage.Banned},
		} {
			if err := tx.SetMembership(m.group, m.actor, m.state, ""); err != nil {
				return err
			}
		}
		for i, state := range []storage.PostState{storage.Relayed, storage.Relayed, storage.Relayed, storage.Held, storage.Removed} {
			p := &storage.Post{
				GroupID:    grief.ID,
				ObjectID:   fmt.Sprintf("https://a.example/notes/%d", i),
				AuthorID:   "https://a.example/users/alice",
				ActivityID: fmt.Sprintf("https://a.example/activities/%d", i),
				State:      state,
			}
			if err := tx.CreatePost(p); err != nil {
				return err
			}
		}
		return nil
	})

	discovery, res := in.get("/.well-known/nodeinfo", "application/json")
	if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, "*")
	}
	hrefs := map[string]string{}
	links, _ := discovery["links"].([]any)
	for _, l := range links {
		link, _ := l.(map[string]any)
		hrefs[str(link, "rel")] = str(link, "href")
	}
	for _, version := range []string{"2.1", "2.0"} {
		t.Run(version, func(t *testing.T) {
			href := hrefs["http://nodeinfo.diaspora.software/ns/schema/"+version]
			if href == "" {
				t.Fatalf("discovery links = %v, want one for schema %s", links, version)
			}
			assertAbsoluteOn(t, in.base, "href", href)
			info, res := in.get(href, "application/json")
			wantType := `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/` + version + `#"`
			if got := res.header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type = %q, want %q", got, wantType)
			}
			software := object(info, "software")
			usage := object(info, "usage")
			for _, c := range []struct {
				field string
				got   any
				want  any
			}{
				{"version", info["version"], version},
				{"software.name", software["name"], "hearth"},
				{"software.version", software["version"], "1.2.3"},
				{"protocols", info["protocols"], []any{"activitypub"}},
				{"openRegistrations", info["openRegistrations"], false},
				{"usage.users.total", object(usage, "users")["total"], 2.0},
				{"usage.localPosts", usage["localPosts"], 3.0},
				{"metadata.nodeName", object(info, "metadata")["nodeName"], in.base.Host},
			} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
				}
			}
		})
	}
}

// TestNodeInfoCountsNothingPrivate: NodeInfo is served to anyone, so its
// counts must not move with what happens in a private group, nor with who
// joins a group that hides its member count; anyone could watch them.
func TestNodeInfoCountsNothingPrivate(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	open := h.createGroup("grief", nil)
	circle := h.createGroup("circle", privateGroup(""))
	quiet := h.createGroup("quiet", func(g *storage.Group) { g.HideMemberCount = true })
	masto := h.network.NewInstance("mastodon.test")
	alice, bob, carol := masto.NewActor("alice"), masto.NewActor("bob"), masto.NewActor("carol")
	usage := func(t *testing.T, wantUsers, wantPosts int) {
		t.Helper()
		resp, err := h.network.Client().Get("http://" + hearthHost + "/nodeinfo/2.1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info activitypub.NodeInfo
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
			t.Fatal(err)
		}
		if info.Usage.Users.Total != wantUsers || info.Usage.LocalPosts != wantPosts {
			t.Errorf("NodeInfo counts %d users and %d posts, want %d and %d",
				info.Usage.Users.Total, info.Usage.LocalPosts, wantUsers, wantPosts)
		}
	}

	joinPrivate(t, h, bob, masto, circle)
	mustPost(t, bob, circle+"/inbox", bob.Create(followersOnly(bob, circle, "Nobody else may count this.")))
	copyOf(t, masto, circle, "Nobody else may count this.")
	join(t, carol, masto, quiet)
	usage(t, 0, 0)

	// A public group's posts are public whether or not it hides its member
	// count: its outbox counts them for anyone already.
	create := carol.Create(publicNote(carol, quiet, "Counted, though carol is not."))
	mustPost(t, carol, quiet+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
	usage(t, 0, 1)

	join(t, alice, masto, open)
	join(t, bob, masto, open)
	usage(t, 2, 1)
}

func TestFollowersNeverListMembers(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g := in.createGroup(storage.Group{Name: "grief"})
	members := []string{"https://a.example/users/alice", "https://b.example/users/bob", "https://c.example/users/carol"}
	in.update(func(tx *storage.Tx) error {
		for _, actor := range members {
			if err := tx.SetMembership(g.ID, actor, storage.Member, actor+"#follow"); err != nil {
				return err
			}
		}
		return tx.SetMembership(g.ID, "https://d.example/users/dave", storage.Pending, "")
	})
	followersURL := in.base.String() + "/g/grief/followers"

	check := func(t *testing.T, wantTotal any) {
		t.Helper()
		doc, res := in.get(followersURL, acceptActivity)
		if got := res.header.Get("Content-Type"); got != wantActivityCT {
			t.Errorf("Content-Type = %q, want %q", got, wantActivityCT)
		}
		if got := str(doc, "id"); got != followersURL {
			t.Errorf("id = %q, want %q", got, followersURL)
		}
		for _, actor := range members {
			if bytes.Contains(res.body, []byte(actor)) {
				t.Errorf("followers collection names member %q: %s", actor, res.body)
			}
		}
		if items, _ := doc["items"].([]any); len(items) != 0 {
			t.Errorf("items = %v, want none", items)
		}
		for _, listing := range []string{"orderedItems", "first", "last"} {
			if v, ok := doc[listing]; ok {
				t.Errorf("%s = %v, want it absent", listing, v)
			}
		}
		total, present := doc["totalItems"]
		switch {
		case wantTotal == nil && present:
			t.Errorf("totalItems = %v, want it absent", total)
		case wantTotal != nil && fmt.Sprint(total) != fmt.Sprint(wantTotal):
			t.Errorf("totalItems = %v, want %v", total, wantTotal)
		}
	}
	t.Run("count shown", func(t *testing.T) { check(t, 3) })

	if _, err := in.svc.UpdateGroup(context.Background(), "grief", func(g *storage.Group) { g.HideMemberCount = true }); err != nil {
		t.Fatal(err)
	}
	t.Run("count hidden", func(t *testing.T) { check(t, nil) })
}

func TestOutboxPagesThroughEverySentActivity(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g := in.createGroup(storage.Group{Name: "grief"})
	outbox := in.base.String() + "/g/grief/outbox"

	// Seven transactions of three activities each: the activities of one
	// transaction share a timestamp, and the 20-item page boundary falls in
	// the middle of the last run on the first page.
	var want []string
	for batch := range 7 {
		in.clock.Add(1)
		var ids []string
		in.update(func(tx *storage.Tx) error {
			for k := range 3 {
				id := fmt.Sprintf("%s/g/grief/activities/%d-%d", in.base, batch, k)
				ids = append(ids, id)
				body := fmt.Sprintf(`{"id":%q,"type":"Announce","actor":%q}`, id, in.base.String()+"/g/grief")
				if err := tx.Enqueue(storage.Activity{ID: id, GroupID: g.ID, Type: "Announce", InOutbox: true, Body: []byte(body)}, nil); err != nil {
					return err
				}
			}
			// Sent but not for the outbox, like a Reject to one follower.
			return tx.Enqueue(storage.Activity{ID: fmt.Sprintf("%s/hidden/%d", in.base, batch), GroupID: g.ID, Type: "Reject", Body: []byte(`{}`)}, nil)
		})
		slices.Reverse(ids)
		want = append(ids, want...)
	}

	collection, _ := in.get(outbox, acceptActivity)
	if got := str(collection, "type"); got != "OrderedCollection" {
		t.Errorf("type = %q, want %q", got, "OrderedCollection")
	}
	if got := fmt.Sprint(collection["totalItems"]); got != "21" {
		t.Errorf("totalItems = %s, want 21", got)
	}
	var got []string
	var pageSizes []int
	next := str(collection, "first")
	for next != "" && len(pageSizes) < 10 {
		page, _ := in.get(next, acceptActivity)
		if got := str(page, "type"); got != "OrderedCollectionPage" {
			t.Errorf("page type = %q, want %q", got, "OrderedCollectionPage")
		}
		if got := str(page, "partOf"); got != outbox {
			t.Errorf("partOf = %q, want %q", got, outbox)
		}
		items, _ := page["orderedItems"].([]any)
		pageSizes = append(pageSizes, len(items))
		for _, item := range items {
			activity, _ := item.(map[string]any)
			got = append(got, str(activity, "id"))
		}
		next = str(page, "next")
	}
	if !slices.Equal(got, want) {
		t.Errorf("outbox items, newest first:\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(pageSizes, []int{18, 3}) {
		t.Errorf("page sizes = %v, want [18 3]: a run of same-time activities moves whole to the next page", pageSizes)
	}

	res := in.fetch(http.MethodGet, "/g/grief/outbox?page=true&before=yesterday", acceptActivity)
	if res.status != http.StatusBadRequest {
		t.Errorf("outbox with a garbage cursor: status %d, want 400", res.status)
	}
}

func TestPrivateGroupOutboxShowsNothingToStrangers(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g := in.createGroup(storage.Group{Name: "recovery", Visibility: storage.Private})
	in.update(func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: in.base.String() + "/g/recovery/activities/1", GroupID: g.ID,
			Type: "Create", InOutbox: true, Body: []byte(`{"type":"Create"}`)}, nil)
	})
	doc, _ := in.get("/g/recovery/outbox", acceptActivity)
	if total, ok := doc["totalItems"]; ok {
		t.Errorf("totalItems = %v shown to an unsigned fetch, want it absent", total)
	}
	if first, ok := doc["first"]; ok {
		t.Errorf("first = %v, want it absent", first)
	}
	res := in.fetch(http.MethodGet, "/g/recovery/outbox?page=true", acceptActivity)
	if res.status != http.StatusUnauthorized {
		t.Errorf("unsigned fetch of a page of a private outbox: status %d, want 401", res.status)
	}
}

func TestModeratorsAndFeatured(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	g := in.createGroup(storage.Group{Name: "grief"})
	in.createGroup(storage.Group{Name: "quiet"})
	mods := []string{"https://a.example/users/alice", "https://b.example/users/bob"}
	// Named in reverse alphabetical order, a moment apart: the collection
	// lists moderators by seniority.
	for _, m := range slices.Backward(mods) {
		in.clock.Add(1)
		in.update(func(tx *storage.Tx) error { return tx.AddModerator(g.ID, m) })
	}
	tests := []struct {
		path       string
		wantItems  []any
		wantLength int
	}{
		{"/g/grief/moderators", []any{mods[1], mods[0]}, 2},
		{"/g/quiet/moderators", []any{}, 0},
		{"/g/grief/featured", []any{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			doc, res := in.get(tt.path, acceptActivity)
			if got := res.header.Get("Content-Type"); got != wantActivityCT {
				t.Errorf("Content-Type = %q, want %q", got, wantActivityCT)
			}
			if got, want := str(doc, "id"), in.base.String()+tt.path; got != want {
				t.Errorf("id = %q, want %q", got, want)
			}
			if got := str(doc, "type"); got != "OrderedCollection" {
				t.Errorf("type = %q, want %q", got, "OrderedCollection")
			}
			items, ok := doc["orderedItems"].([]any)
			if !ok {
				t.Fatalf("orderedItems = %v, want an array even when empty", doc["orderedItems"])
			}
			if !slices.Equal(items, tt.wantItems) {
				t.Errorf("orderedItems = %q, want %q", items, tt.wantItems)
			}
			if got := fmt.Sprint(doc["totalItems"]); got != fmt.Sprint(tt.wantLength) {
				t.Errorf("totalItems = %s, want %d", got, tt.wantLength)
			}
		})
	}
}

func TestInstanceActor(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	actor, res := in.get("/actor", acceptActivity)
	if got := res.header.Get("Content-Type"); got != wantActivityCT {
		t.Errorf("Content-Type = %q, want %q", got, wantActivityCT)
	}
	id := in.base.String() + "/actor"
	for field, want := range map[string]string{
		"id":                id,
		"type":              "Application",
		"preferredUsername": in.base.Host,
		"inbox":             in.base.String() + "/inbox",
	} {
		if got := str(actor, field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if got := actor["manuallyApprovesFollowers"]; got != true {
		t.Errorf("manuallyApprovesFollowers = %v, want true", got)
	}
	if contexts, _ := actor["@context"].([]any); !slices.Contains(contexts, any("https://w3id.org/security/v1")) {
		t.Errorf("@context = %v, want it to include the security vocabulary", actor["@context"])
	}
	key := object(actor, "publicKey")
	if got := str(key, "owner"); got != id {
		t.Errorf("publicKey.owner = %q, want %q", got, id)
	}
	if got, want := str(key, "id"), id+"#main-key"; got != want {
		t.Errorf("publicKey.id = %q, want %q", got, want)
	}
	served, err := activitypub.ParsePublicKey(str(key, "publicKeyPem"))
	if err != nil {
		t.Fatalf("publicKeyPem: %v", err)
	}
	var stored storage.InstanceKey
	err = in.store.View(context.Background(), func(tx *storage.Tx) error {
		var err error
		stored, err = tx.InstanceKey()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	signing, err := activitypub.ParsePrivateKey(stored.PrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !served.Equal(&signing.PublicKey) {
		t.Error("publicKeyPem is not the public half of the instance's signing key")
	}
}

func TestMissingGroups(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	tests := []struct {
		path, accept    string
		wantContentType string
		wantBody        string
	}{
		{"/g/nobody", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/outbox", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/outbox?page=true", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/followers", acceptLDAS, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/featured", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/moderators", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/Bad%21Name", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/" + strings.Repeat("a", 65) + "/followers", acceptActivity, "application/json; charset=utf-8", `{"error":"no such group"}`},
		{"/g/nobody/followers", "", "text/plain; charset=utf-8", "no such group\n"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			res := in.fetch(http.MethodGet, tt.path, tt.accept)
			if res.status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", res.status)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantContentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantContentType)
			}
			if got := string(res.body); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
		})
	}

	// A person following a bad link gets the web's not-found page.
	res := in.fetch(http.MethodGet, "/g/Bad%21Name", acceptBrowser)
	if res.status != http.StatusNotFound || res.header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(string(res.body), "There is no group called Bad!Name here.") {
		t.Errorf("a browser asking for an impossible name: status %d, %q, %q; want the HTML not-found page",
			res.status, res.header.Get("Content-Type"), res.body)
	}

	// Each refusal is logged with what an operator needs to find it.
	var logged []map[string]any
	for line := range strings.Lines(in.log.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "request failed" {
			logged = append(logged, rec)
		}
	}
	if len(logged) != len(tests) {
		t.Fatalf("logged %d records, want one per failed request (%d)", len(logged), len(tests))
	}
	for _, rec := range logged {
		if rec["method"] != "GET" || str(rec, "request_id") == "" || !strings.HasPrefix(str(rec, "path"), "/g/") || fmt.Sprint(rec["status"]) != "404" {
			t.Errorf("log record %v, want method, path, request_id and status 404", rec)
		}
	}
}

func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	in.createGroup(storage.Group{Name: "grief"})
	tests := []struct {
		path, accept, wantType string
	}{
		{"/g/grief", acceptActivity, wantActivityCT},
		{"/g/grief", acceptBrowser, "text/html; charset=utf-8"},
		{"/g/grief/outbox", acceptActivity, wantActivityCT},
		{"/actor", acceptActivity, wantActivityCT},
		{"/.well-known/webfinger?resource=acct:grief@" + in.base.Host, "", "application/jrd+json; charset=utf-8"},
		{"/.well-known/nodeinfo", "", "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			res := in.fetch(http.MethodHead, tt.path, tt.accept)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200", res.status)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if len(res.body) != 0 {
				t.Errorf("HEAD body = %q, want none", res.body)
			}
		})
	}
}
