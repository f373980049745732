package templates

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// site serves the pages over a real HTTP server backed by a fresh database
// holding the given groups, each with the given number of members.
func site(t *testing.T, groups map[*storage.Group]int) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, storagetest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Update(ctx, func(tx *storage.Tx) error {
		for g, members := range groups {
			if err := tx.CreateGroup(g); err != nil {
				return err
			}
			for i := range members {
				actor := "https://example.social/users/m" + string(rune('a'+i))
				if err := tx.SetMembership(g.ID, actor, storage.Member, ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := New(Config{Store: store, IRIs: activitypub.NewIRIs(&url.URL{Scheme: "https", Host: "hearth.example"})})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", pages.Home)
	mux.HandleFunc("GET /g/{name}", pages.Group)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func group(name string, visibility storage.Visibility) *storage.Group {
	g := &storage.Group{Name: name, Visibility: visibility, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	if visibility == storage.Private {
		g.Join = storage.JoinApproval
	}
	return g
}

func TestHomeWithoutGroupsSaysHowToStart(t *testing.T) {
	srv := site(t, nil)
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{"hearth group create NAME", "@NAME@hearth.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q:\n%s", want, body)
		}
	}
}

func TestHomeListsPublicGroupsOnly(t *testing.T) {
	open := group("grief", storage.Public)
	open.DisplayName, open.Summary = "Grief support", "Talk about loss."
	hidden := group("quiet", storage.Public)
	hidden.HideMemberCount = true
	secret := group("hidden_circle", storage.Private)
	secret.Summary = "A private summary"
	srv := site(t, map[*storage.Group]int{open: 2, hidden: 5, secret: 3})

	_, body := get(t, srv.URL+"/")
	for _, want := range []string{"Grief support", "@grief@hearth.example", "Talk about loss.", "2 members", "@quiet@hearth.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"hidden_circle", "A private summary", "5 members", "3 members"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("home page shows %q", unwanted)
		}
	}
	if strings.Contains(body, "hearth group create") {
		t.Error("home page with groups still tells the admin to create one")
	}
}

func TestGroupPageEscapesAndRestricts(t *testing.T) {
	g := group("grief", storage.Public)
	g.DisplayName = `<script>alert("x")</script>`
	g.Summary = `<img src=x onerror=alert(1)>`
	srv := site(t, map[*storage.Group]int{g: 1})

	resp, body := get(t, srv.URL+"/g/grief")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<img src=x") {
		t.Errorf("group page renders profile text as HTML:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("group page lacks the escaped display name:\n%s", body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'none';") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, want := range []string{"@grief@hearth.example", "search for", "1 member"} {
		if !strings.Contains(body, want) {
			t.Errorf("group page lacks %q", want)
		}
	}
}

func TestPrivateGroupPageShowsOnlyHowToAsk(t *testing.T) {
	g := group("circle", storage.Private)
	g.Summary = "For people recently diagnosed."
	srv := site(t, map[*storage.Group]int{g: 4})

	_, body := get(t, srv.URL+"/g/circle")
	for _, want := range []string{"For people recently diagnosed.", "@circle@hearth.example", "ask to join", "moderator"} {
		if !strings.Contains(body, want) {
			t.Errorf("private group page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"4 member", "example.social", "How to post"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("private group page shows %q", unwanted)
		}
	}
}

func TestUnknownGroupIsNotFound(t *testing.T) {
	srv := site(t, nil)
	resp, body := get(t, srv.URL+"/g/nobody")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	if !strings.Contains(body, "no group called nobody") {
		t.Errorf("404 page does not name the group:\n%s", body)
	}
}

func TestGroupPageTellsMembersToKeepTheGroupsMentionInReplies(t *testing.T) {
	small := group("grief", storage.Public)
	large := group("crowd", storage.Public)
	large.Replies = storage.RepliesStarters
	srv := site(t, map[*storage.Group]int{small: 1, large: 1})

	_, body := get(t, srv.URL+"/g/grief")
	if !strings.Contains(body, "keep <code>@grief@hearth.example</code> in your reply") {
		t.Errorf("the group page does not tell members to keep its mention in replies:\n%s", body)
	}
	if strings.Contains(body, "members get only new posts") {
		t.Errorf("a group that boosts every reply says it boosts new posts only:\n%s", body)
	}
	if _, body := get(t, srv.URL+"/g/crowd"); !strings.Contains(body, "members get only new posts in their home timeline") {
		t.Errorf("the page of a group that boosts no reply does not say so:\n%s", body)
	}
}
