package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/federation/fedtest"
)

// mustRefuse checks that form, posted to path by a visitor without a
// session, or by the administrator without the form token, is refused.
func mustRefuse(t *testing.T, h *runningHearth, admin *webClient, path string, form url.Values) {
	t.Helper()
	visitor := newWebClient(t, h)
	f := maps(form)
	f.Set("csrf", visitor.token("/admin/login"))
	mustRedirect(t, "POST "+path+" without a session", visitor.post(path, f), "/admin/login")
	f = maps(form)
	f.Set("csrf", strings.Repeat("A", 43))
	if p := admin.post(path, f); p.status != http.StatusForbidden {
		t.Errorf("POST %s with a wrong token: status %d, want 403", path, p.status)
	}
}

// sharedNote has author post text to the group and waits for its boost;
// it returns the note's id.
func sharedNote(t *testing.T, masto *fedtest.Instance, author *fedtest.Actor, group, text string) string {
	t.Helper()
	create := author.Create(publicNote(author, group, text))
	mustPost(t, author, group+"/inbox", create)
	id := objectField(create, "id").(string)
	awaitBoost(t, masto, id)
	return id
}

// before reports whether first appears in body, and before then.
func before(body, first, then string) bool {
	i, j := strings.Index(body, first), strings.Index(body, then)
	return i >= 0 && j > i
}

func TestConsoleRemovesAndPinsPosts(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	welcome := sharedNote(t, masto, alice, group, "Read this first: how the group works.")
	spam := sharedNote(t, masto, alice, group, "Buy my course <script>alert(1)</script>")
	sharedNote(t, masto, alice, group, "A quiet evening.")
	admin := signedIn(t, h)
	const tab = "/admin/groups/grief/posts"

	posts := admin.get(tab)
	for _, want := range []string{"No post is pinned.", "Read this first", "Buy my course", "A quiet evening.", alice.Handle} {
		if !strings.Contains(posts.body, want) {
			t.Errorf("posts tab lacks %q", want)
		}
	}
	if strings.Contains(posts.body, "<script") {
		t.Error("posts tab shows a post's script")
	}
	mustRefuse(t, h, admin, tab, url.Values{"action": {"pin"}, "post": {welcome}})
	mustRefuse(t, h, admin, tab, url.Values{"action": {"remove-post"}, "post": {spam}})

	mustRedirect(t, "pin", admin.submit(tab, tab, url.Values{"action": {"pin"}, "post": {welcome}}), tab+"?done=pin")
	add := masto.AwaitDelivery(t, wait, fedtest.OfType("Add"))
	if add.Activity["object"] != welcome || add.Activity["target"] != group+"/featured" {
		t.Errorf("the Add does not pin the post: %s", add.Raw)
	}
	if p := admin.get(tab); !strings.Contains(p.body, "Pinned (1)") || !before(p.body, "Read this first", "A quiet evening.") {
		t.Errorf("posts tab does not list the pinned post first:\n%s", p.body)
	}
	public := admin.get("/g/grief")
	if !before(public.body, `<h2 id="pinned">Pinned</h2>`, "Read this first") || !before(public.body, "Read this first", "A quiet evening.") ||
		strings.Count(public.body, "Read this first") != 1 {
		t.Errorf("the group page does not list the pinned post first, once:\n%s", public.body)
	}
	again := admin.submit(tab, tab, url.Values{"action": {"pin"}, "post": {welcome}})
	if again.status != http.StatusBadRequest || !strings.Contains(again.body, "is pinned already") {
		t.Errorf("pinning twice: %d\n%s", again.status, again.body)
	}
	mustRedirect(t, "unpin", admin.submit(tab, tab, url.Values{"action": {"unpin"}, "post": {welcome}}), tab+"?done=unpin")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Remove" && d.Activity["object"] == welcome })
	if p := admin.get("/g/grief"); strings.Contains(p.body, `id="pinned"`) {
		t.Error("the group page still lists an unpinned post as pinned")
	}

	mustRedirect(t, "remove", admin.submit(tab, tab, url.Values{"action": {"remove-post"}, "post": {spam},
		"reason": {"selling things & rude"}}), tab+"?done=remove-post")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Undo" && objectField(d.Activity, "object") == spam })
	told := messageTo(t, masto, group, alice, "removed your post")
	if !strings.Contains(told["content"].(string), "selling things &amp; rude") {
		t.Errorf("alice is not told why: %v", told["content"])
	}
	if p := admin.get(tab); strings.Contains(p.body, "Buy my course") {
		t.Error("posts tab still lists the removed post")
	}
	unknown := admin.submit(tab, tab, url.Values{"action": {"remove-post"}, "post": {"https://nowhere.test/notes/1"}, "reason": {"typed"}})
	if unknown.status != http.StatusBadRequest || !strings.Contains(unknown.body, "the group shares no post at this address") ||
		!strings.Contains(unknown.body, `value="https://nowhere.test/notes/1"`) || !strings.Contains(unknown.body, `value="typed"`) {
		t.Errorf("removing a post the group does not share: %d\n%s", unknown.status, unknown.body)
	}
}
