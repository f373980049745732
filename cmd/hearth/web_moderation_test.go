package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
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

	log := admin.get("/admin/groups/grief/log")
	if !before(log.body, "<td>remove</td>", "<td>unpin</td>") ||
		!before(log.body, "<td>unpin</td>", "<td>pin</td>") || !strings.Contains(log.body, "selling things &amp; rude") ||
		!strings.Contains(log.body, `<a href="`+spam+`"`) || !strings.Contains(log.body, "<td>admin</td>") {
		t.Errorf("the moderation log does not list the removal, unpin and pin, newest first:\n%s", log.body)
	}
}

func TestConsoleActsOnReports(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	pills := sharedNote(t, masto, alice, group, "Cheap pills at my site.")
	server := instanceActor(t, masto)
	mustPost(t, server, group+"/inbox", mastodonFlag(t, server, group, alice, pills))
	admin := signedIn(t, h)
	const tab = "/admin/groups/grief/reports"

	if p := admin.get("/admin/"); !strings.Contains(p.body, `<a href="/admin/groups/grief/reports">1 open</a>`) {
		t.Errorf("the list of groups does not count the open report:\n%s", p.body)
	}
	reports := admin.get(tab)
	for _, want := range []string{"Report 1, from mastodon.test", "Spam account posting links in the group",
		`<a href="` + alice.ID + `" rel="nofollow noopener noreferrer">alice@mastodon.test</a>`, "(member)",
		`<a href="` + pills + `"`, "Remove this post", "Ban alice@mastodon.test"} {
		if !strings.Contains(reports.body, want) {
			t.Errorf("reports tab lacks %q", want)
		}
	}
	mustRefuse(t, h, admin, tab, url.Values{"action": {"resolve"}, "report": {"1"}})

	mustRedirect(t, "remove from the report", admin.submit(tab, "/admin/groups/grief/posts", url.Values{"action": {"remove-post"},
		"post": {pills}, "back": {"reports"}}), tab+"?done=remove-post")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Undo" && objectField(d.Activity, "object") == pills })
	mustRedirect(t, "ban from the report", admin.submit(tab, "/admin/groups/grief/members", url.Values{"action": {"ban"},
		"account": {alice.ID}, "reason": {"Report 1"}, "back": {"reports"}}), tab+"?done=ban")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Block" && d.Inbox == alice.Inbox })
	reports = admin.get(tab)
	if !strings.Contains(reports.body, "(removed)") || !strings.Contains(reports.body, "(banned)") ||
		strings.Contains(reports.body, "Remove this post") || strings.Contains(reports.body, "Ban alice") {
		t.Errorf("reports tab after acting on the report:\n%s", reports.body)
	}

	resolved := admin.submit(tab, tab, url.Values{"action": {"resolve"}, "report": {"1"}})
	mustRedirect(t, "resolve", resolved, tab+"?done=resolve")
	if p := admin.get(resolved.location); !strings.Contains(p.body, "The report is resolved.") || !strings.Contains(p.body, "No report is open.") {
		t.Errorf("reports tab after resolving:\n%s", p.body)
	}
	for _, number := range []string{"1", "x"} {
		p := admin.submit(tab, tab, url.Values{"action": {"resolve"}, "report": {number}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "no open report has this number") && !strings.Contains(p.body, "no report has this number") {
			t.Errorf("resolving report %q: %d\n%s", number, p.status, p.body)
		}
	}
	var open []storage.Report
	h.view(func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		open, err = tx.Reports(g.ID, storage.ReportOpen, 10)
		return err
	})
	if len(open) != 0 {
		t.Errorf("%d reports open after resolving, want none", len(open))
	}
	if p := admin.get("/admin/groups/grief/log"); !strings.Contains(p.body, "<td>resolve</td>\n<td>report 1</td>") {
		t.Errorf("the moderation log does not list the resolution:\n%s", p.body)
	}
}

func TestConsoleModerationLogIsCapped(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	admin := signedIn(t, h)
	if p := admin.get("/admin/groups/grief/log"); !strings.Contains(p.body, "Nothing was moderated in this group yet.") {
		t.Errorf("the log of a new group:\n%s", p.body)
	}
	err := h.store.Update(context.Background(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		for i := range 201 {
			target := "report " + strings.Repeat("9", i+1)
			if err := tx.LogModeration(storage.LogEntry{GroupID: g.ID, By: "admin", Action: "resolve", Target: target}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := admin.get("/admin/groups/grief/log")
	if n := strings.Count(p.body, "<td>resolve</td>"); n != 200 || !strings.Contains(p.body, "hearth modlog grief --limit N") ||
		!strings.Contains(p.body, "report "+strings.Repeat("9", 201)+"<") || strings.Contains(p.body, "report 9<") {
		t.Errorf("the log lists %d lines, want the newest 200 and how to see more", n)
	}
	if p := admin.get("/admin/groups/nobody/log"); p.status != http.StatusNotFound {
		t.Errorf("log of no group: %d", p.status)
	}
}

func TestConsoleBlocksAndAllowsDomains(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"configured.example"} })
	group := h.createGroup("grief", nil)
	spam := h.network.NewInstance("spam.test")
	spammer := spam.NewActor("spammer")
	join(t, spammer, spam, group)
	admin := signedIn(t, h)
	const page = "/admin/federation/domains"

	domains := admin.get(page)
	for _, want := range []string{"Open mode", "<th scope=\"row\">configured.example</th>", "<code>federation.block</code>", "Read-only"} {
		if !strings.Contains(domains.body, want) {
			t.Errorf("domains page lacks %q", want)
		}
	}
	if strings.Contains(domains.body, "Unblock configured.example") {
		t.Error("domains page offers to lift a block of the configuration")
	}

	blocked := admin.submit(page, page, url.Values{"action": {"block"}, "domain": {"Spam.Test"}, "reason": {"spam <b>wave</b>"}})
	mustRedirect(t, "block", blocked, page+"?done=block&ended=1&dropped=")
	after := admin.get(blocked.location)
	for _, want := range []string{"Memberships and requests to join ended: 1.", "<th scope=\"row\">spam.test</th>",
		"spam &lt;b&gt;wave&lt;/b&gt;", `aria-label="Unblock spam.test"`} {
		if !strings.Contains(after.body, want) {
			t.Errorf("domains page after the block lacks %q:\n%s", want, after.body)
		}
	}
	if h.svc.Federates("sub.spam.test") {
		t.Error("a subdomain of the blocked domain is federated with")
	}
	var members int
	h.view(func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		members, err = tx.CountMembers(g.ID)
		return err
	})
	if members != 0 {
		t.Errorf("%d members after blocking their domain, want none", members)
	}
	if status := post(t, spammer, group+"/inbox", spammer.Follow(group)); status != http.StatusForbidden {
		t.Errorf("a follow from the blocked domain: status %d, want 403", status)
	}

	mustRedirect(t, "unblock", admin.submit(page, page, url.Values{"action": {"unblock"}, "domain": {"spam.test"}}), page+"?done=unblock")
	if !h.svc.Federates("spam.test") {
		t.Error("the unblocked domain is still refused")
	}
	mustRedirect(t, "allow", admin.submit(page, page, url.Values{"action": {"allow"}, "domain": {"friends.example"}, "reason": {"partner"}}),
		page+"?done=allow")
	if p := admin.get(page); !strings.Contains(p.body, `aria-label="Disallow friends.example"`) || !strings.Contains(p.body, "partner") {
		t.Errorf("domains page does not list the allowed domain:\n%s", p.body)
	}
	mustRedirect(t, "disallow", admin.submit(page, page, url.Values{"action": {"disallow"}, "domain": {"friends.example"}}), page+"?done=disallow")
	var stored []storage.DomainPolicy
	h.view(func(tx *storage.Tx) (err error) { stored, err = tx.DomainPolicies(); return err })
	if len(stored) != 0 {
		t.Errorf("domain rules %v left after removing them", stored)
	}

	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"unblock"}, "domain": {"configured.example"}}, "in the configuration"},
		{url.Values{"action": {"block"}, "domain": {"not a/domain"}, "reason": {"typed"}}, "bare domain name"},
		{url.Values{"action": {"block"}, "domain": {"spam.test:443"}}, "leave out the port"},
		{url.Values{"action": {"block"}}, "Name a domain"},
		{url.Values{"action": {"block"}, "domain": {"spam.test"}, "reason": {strings.Repeat("x", 501)}}, "too long"},
		{url.Values{"action": {"explode"}, "domain": {"spam.test"}}, "Unknown action"},
	} {
		p := admin.submit(page, page, tc.form)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) {
			t.Errorf("%v: %d, want 400 saying %q\n%s", tc.form, p.status, tc.want, p.body)
		}
	}
	if p := admin.submit(page, page, url.Values{"action": {"block"}, "domain": {"not a/domain"}, "reason": {"typed"}}); !strings.Contains(p.body, `value="not a/domain"`) || !strings.Contains(p.body, `value="typed"`) {
		t.Error("a refused block does not keep what was typed")
	}
	h.view(func(tx *storage.Tx) (err error) { stored, err = tx.DomainPolicies(); return err })
	if len(stored) != 0 {
		t.Errorf("refused forms stored domain rules %v", stored)
	}
}

func TestConsoleDomainsPageSaysTheMode(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) {
		c.Mode, c.Allow = federation.ModeAllowlist, []string{"friends.example"}
	})
	admin := signedIn(t, h)
	p := admin.get("/admin/federation/domains")
	if !strings.Contains(p.body, "Allowlist mode") || !strings.Contains(p.body, "<code>federation.allow</code>") {
		t.Errorf("domains page of an allowlist instance:\n%s", p.body)
	}
}
