package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

const (
	hearthBase    = "http://" + hearthHost
	adminPassword = "correct horse battery staple"
)

// webClient is a browser without JavaScript on the test network: it keeps
// cookies and does not follow redirects, so tests see where each leads.
type webClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newWebClient(t *testing.T, h *runningHearth) *webClient {
	t.Helper()
	return browse(t, hearthBase, h.network.Transport())
}

// browse returns a browser of the instance at base, reached through
// transport.
func browse(t *testing.T, base string, transport http.RoundTripper) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{t: t, base: base, client: &http.Client{
		Transport:     transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer as the test looks at it.
type page struct {
	status   int
	header   http.Header
	location string
	body     string
}

func (c *webClient) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, location: resp.Header.Get("Location"), body: string(body)}
}

func (c *webClient) get(path string) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post submits a form as a browser on the instance's own pages does.
func (c *webClient) post(path string, form url.Values) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the form token from the page at path.
func (c *webClient) token(path string) string {
	c.t.Helper()
	p := c.get(path)
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		c.t.Fatalf("GET %s (%d) has no form token:\n%s", path, p.status, p.body)
	}
	return m[1]
}

// submit fills the form token from the page at formPath and posts to path.
func (c *webClient) submit(formPath, path string, form url.Values) page {
	c.t.Helper()
	form.Set("csrf", c.token(formPath))
	return c.post(path, form)
}

// mustRedirect checks that p sends the browser to a path starting with want.
func mustRedirect(t *testing.T, what string, p page, want string) {
	t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, want) {
		t.Fatalf("%s: status %d, Location %q, want 303 to %s\n%s", what, p.status, p.location, want, p.body)
	}
}

// signedIn sets up the instance's administrator through the setup page and
// returns their signed-in browser.
func signedIn(t *testing.T, h *runningHearth) *webClient {
	t.Helper()
	c := newWebClient(t, h)
	p := c.submit("/admin/setup", "/admin/setup", url.Values{
		"username": {"admin"}, "password": {adminPassword}, "password2": {adminPassword}})
	mustRedirect(t, "setup", p, "/admin/")
	return c
}

func TestConsoleSetsUpTheFirstAdministratorOnly(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	visitor := newWebClient(t, h)
	mustRedirect(t, "console of a new instance", visitor.get("/admin/"), "/admin/setup")
	mustRedirect(t, "sign-in on a new instance", visitor.get("/admin/login"), "/admin/setup")

	mismatch := visitor.submit("/admin/setup", "/admin/setup", url.Values{
		"username": {"admin"}, "password": {adminPassword}, "password2": {adminPassword + "!"}})
	if mismatch.status != http.StatusBadRequest || !strings.Contains(mismatch.body, "differ") {
		t.Errorf("setup with differing passwords: %d\n%s", mismatch.status, mismatch.body)
	}
	short := visitor.submit("/admin/setup", "/admin/setup", url.Values{
		"username": {"admin"}, "password": {"short"}, "password2": {"short"}})
	if short.status != http.StatusBadRequest {
		t.Errorf("setup with a short password: %d", short.status)
	}

	admin := signedIn(t, h)
	if p := admin.get("/admin/"); p.status != http.StatusOK || !strings.Contains(p.body, "Sign out admin") {
		t.Fatalf("console after setup: %d\n%s", p.status, p.body)
	}
	// Once set up, the setup page creates nobody, even with a valid form.
	mustRedirect(t, "setup page once set up", visitor.get("/admin/setup"), "/admin/login")
	again := newWebClient(t, h)
	form := url.Values{"username": {"intruder"}, "password": {adminPassword}, "password2": {adminPassword}}
	form.Set("csrf", again.token("/admin/login"))
	mustRedirect(t, "second setup", again.post("/admin/setup", form), "/admin/login")
	var n int
	h.view(func(tx *storage.Tx) (err error) { n, err = tx.CountAdmins(); return err })
	if n != 1 {
		t.Errorf("%d administrators, want 1", n)
	}
}

func (h *runningHearth) view(fn func(*storage.Tx) error) {
	h.t.Helper()
	if err := h.store.View(context.Background(), fn); err != nil {
		h.t.Fatal(err)
	}
}

// consoleGets are every console page that needs a signed-in administrator.
var consoleGets = []string{"/admin/", "/admin/groups/new", "/admin/groups/grief", "/admin/groups/grief/members",
	"/admin/groups/grief/moderators", "/admin/groups/grief/posts", "/admin/groups/grief/held", "/admin/groups/grief/reports",
	"/admin/groups/grief/log", "/admin/federation", "/admin/federation/domains", "/admin/settings"}

// consolePosts are every console form, with fields that would change
// something were the form accepted.
var consolePosts = map[string]url.Values{
	"/admin/groups":                  {"name": {"intruded"}, "visibility": {"public"}, "join": {"open"}, "posting": {"members"}},
	"/admin/groups/grief":            {"display_name": {"Intruded"}, "visibility": {"public"}, "join": {"open"}, "posting": {"members"}},
	"/admin/groups/grief/members":    {"action": {"ban"}, "account": {"http://mastodon.test/users/alice"}},
	"/admin/groups/grief/moderators": {"action": {"add"}, "account": {"http://mastodon.test/users/alice"}},
	"/admin/groups/grief/posts":      {"action": {"remove-post"}, "post": {hearthBase + "/g/grief/notes/x"}, "reason": {"intruded"}},
	"/admin/groups/grief/held":       {"action": {"release"}, "post": {hearthBase + "/g/grief/notes/x"}},
	"/admin/groups/grief/reports":    {"action": {"resolve"}, "report": {"1"}},
	"/admin/federation/domains":      {"action": {"block"}, "domain": {"intruded.example"}},
	"/admin/settings":                {"name": {"Intruded"}},
	"/admin/logout":                  {},
}

func TestConsoleRequiresSignIn(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	signedIn(t, h)
	visitor := newWebClient(t, h)
	for _, path := range consoleGets {
		mustRedirect(t, "GET "+path, visitor.get(path), "/admin/login")
	}
	for path, form := range consolePosts {
		// Even with a valid form token of the sign-in page, no form works
		// without a session.
		form := maps(form)
		form.Set("csrf", visitor.token("/admin/login"))
		mustRedirect(t, "POST "+path, visitor.post(path, form), "/admin/login")
	}
	assertUntouched(t, h)
}

func maps(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// assertUntouched checks that none of consolePosts took effect.
func assertUntouched(t *testing.T, h *runningHearth) {
	t.Helper()
	h.view(func(tx *storage.Tx) error {
		if _, err := tx.GroupByName("intruded"); err == nil {
			t.Error("a refused form created a group")
		}
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		if g.DisplayName == "Intruded" {
			t.Error("a refused form changed the group")
		}
		if counts, err := tx.MembershipCounts(g.ID); err != nil || counts[storage.Banned] > 0 {
			t.Errorf("a refused form banned someone (%v, %v)", counts, err)
		}
		if mods, err := tx.Moderators(g.ID); err != nil || len(mods) > 0 {
			t.Errorf("a refused form added a moderator (%v, %v)", mods, err)
		}
		if log, err := tx.ModerationLog(g.ID, 10); err != nil || len(log) > 0 {
			t.Errorf("a refused form left a line in the moderation log (%v, %v)", log, err)
		}
		if rules, err := tx.DomainPolicies(); err != nil || len(rules) > 0 {
			t.Errorf("a refused form changed the domain rules (%v, %v)", rules, err)
		}
		profile, err := tx.InstanceProfile()
		if profile.Name == "Intruded" {
			t.Error("a refused form renamed the instance")
		}
		return err
	})
}

func TestConsoleFormsNeedTheirToken(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	admin := signedIn(t, h)
	good := admin.token("/admin/")
	for path, form := range consolePosts {
		for _, tc := range []struct {
			name   string
			token  string
			origin string
		}{
			{"no token", "", hearthBase},
			{"a wrong token", strings.Repeat("A", len(good)), hearthBase},
			{"another site's origin", good, "https://evil.example"},
		} {
			f := maps(form)
			if tc.token != "" {
				f.Set("csrf", tc.token)
			}
			req, err := http.NewRequest(http.MethodPost, hearthBase+path, strings.NewReader(f.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tc.origin)
			if p := admin.do(req); p.status != http.StatusForbidden {
				t.Errorf("POST %s with %s: status %d, want 403", path, tc.name, p.status)
			}
		}
	}
	assertUntouched(t, h)
	if p := admin.get("/admin/"); p.status != http.StatusOK {
		t.Errorf("the session ended after refused forms: %d", p.status)
	}
}

func TestConsoleSignInAndOut(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	signedIn(t, h)
	c := newWebClient(t, h)
	wrong := c.submit("/admin/login", "/admin/login", url.Values{"username": {"admin"}, "password": {"wrong password!"}})
	if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, "Wrong username or password") {
		t.Fatalf("wrong password: %d\n%s", wrong.status, wrong.body)
	}
	right := c.submit("/admin/login", "/admin/login", url.Values{"username": {"ADMIN"}, "password": {adminPassword}})
	mustRedirect(t, "sign-in", right, "/admin/")
	session := right.header.Get("Set-Cookie")
	for _, want := range []string{"hearth_session=", "HttpOnly", "SameSite=Lax", "Path=/admin"} {
		if !strings.Contains(session, want) {
			t.Errorf("session cookie %q lacks %s", session, want)
		}
	}
	if strings.Contains(session, "Secure") {
		t.Errorf("session cookie %q is Secure on a plain-http instance", session)
	}
	if p := c.get("/admin/settings"); p.status != http.StatusOK {
		t.Fatalf("settings after sign-in: %d", p.status)
	}
	mustRedirect(t, "sign-out", c.submit("/admin/", "/admin/logout", url.Values{}), "/admin/login")
	mustRedirect(t, "console after sign-out", c.get("/admin/"), "/admin/login")
}

func TestConsoleSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	admin := signedIn(t, h)
	c := newWebClient(t, h)
	token := c.token("/admin/login")
	attempt := func(password string) int {
		return c.post("/admin/login", url.Values{"csrf": {token}, "username": {"admin"}, "password": {password}}).status
	}
	for i := range 10 {
		if status := attempt(fmt.Sprintf("guess number %d", i)); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, status)
		}
	}
	if status := attempt(adminPassword); status != http.StatusTooManyRequests {
		t.Errorf("the right password after ten guesses: status %d, want 429", status)
	}
	// The administrator's own browser, which signed in before, is not
	// locked out by the guesses.
	mustRedirect(t, "sign-out", admin.submit("/admin/", "/admin/logout", url.Values{}), "/admin/login")
	again := admin.submit("/admin/login", "/admin/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	mustRedirect(t, "sign-in from a browser that signed in before", again, "/admin/")
}

func TestConsoleCreatesAndEditsGroups(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	admin := signedIn(t, h)
	bad := admin.submit("/admin/groups/new", "/admin/groups", url.Values{"name": {"Not A Name"},
		"visibility": {"public"}, "join": {"open"}, "posting": {"members"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "a-z, 0-9") {
		t.Errorf("invalid name: %d\n%s", bad.status, bad.body)
	}
	created := admin.submit("/admin/groups/new", "/admin/groups", url.Values{"name": {"grief"},
		"display_name": {"Grief support"}, "summary": {"Talk about loss."}, "rules": {"Be kind."},
		"visibility": {"public"}, "join": {"approval"}, "posting": {"members"}})
	mustRedirect(t, "create", created, "/admin/groups/grief")
	if p := admin.get(created.location); !strings.Contains(p.body, "The group was created.") || !strings.Contains(p.body, "Be kind.") {
		t.Errorf("group page of the console after creating:\n%s", p.body)
	}
	home := admin.get("/")
	for _, want := range []string{"Grief support", "@grief@" + hearthHost, "Talk about loss."} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}

	edited := admin.submit("/admin/groups/grief", "/admin/groups/grief", url.Values{
		"display_name": {"Grief circle"}, "summary": {"Talk about loss."}, "rules": {"Be kind.\nNo advice unless asked."},
		"visibility": {"private"}, "join": {"approval"}, "posting": {"members"}, "listed": {"on"}})
	mustRedirect(t, "edit", edited, "/admin/groups/grief?done=saved")
	home = admin.get("/")
	if !strings.Contains(home.body, "Private groups") || !strings.Contains(home.body, "Grief circle") || strings.Contains(home.body, "Talk about loss.") {
		t.Errorf("home page of a listed private group shows more or less than its name:\n%s", home.body)
	}
	g := admin.get("/g/grief")
	if !strings.Contains(g.body, "No advice unless asked.") {
		t.Errorf("group page lacks its rules:\n%s", g.body)
	}
	held := admin.submit("/admin/groups/grief", "/admin/groups/grief", url.Values{
		"display_name": {"Grief circle"}, "visibility": {"private"}, "join": {"approval"}, "posting": {"members"},
		"hold": {"new"}, "hold_days": {"14"}, "hold_posts": {"2"}, "hold_mentions": {""}, "non_members": {"hold"},
		"replies": {"starters"}, "questions": {"Whom did you lose?\r\n\r\nHave you read the rules?"},
		"trusted_domains": {"Friends.example, social.example"}})
	mustRedirect(t, "edit the holds and screening", held, "/admin/groups/grief?done=saved")
	h.view(func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		if g.Hold != storage.HoldNew || g.HoldDays != 14 || g.HoldPosts != 2 || g.HoldMentions != storage.DefaultHoldMentions ||
			g.NonMembers != storage.NonMembersHeld || g.Replies != storage.RepliesStarters ||
			!slices.Equal(g.Questions, []string{"Whom did you lose?", "Have you read the rules?"}) ||
			!slices.Equal(g.TrustedDomains, []string{"friends.example", "social.example"}) {
			t.Errorf("group after the console's edit: %+v", g)
		}
		return nil
	})
	if p := admin.get("/admin/groups/grief"); !strings.Contains(p.body, "Whom did you lose?\nHave you read the rules?</textarea>") ||
		!strings.Contains(p.body, `value="friends.example social.example"`) || !strings.Contains(p.body, `<option value="new" selected>`) {
		t.Errorf("the console's form does not show the group's holds and screening:\n%s", p.body)
	}
	for field, value := range map[string]string{"hold_days": "0", "questions": "1?\n2?\n3?\n4?", "trusted_domains": "not a domain!"} {
		form := url.Values{"visibility": {"private"}, "join": {"approval"}, "posting": {"members"}}
		form.Set(field, value)
		if bad := admin.submit("/admin/groups/grief", "/admin/groups/grief", form); bad.status != http.StatusBadRequest {
			t.Errorf("%s %q: %d, want 400", field, value, bad.status)
		}
	}
	invalid := admin.submit("/admin/groups/grief", "/admin/groups/grief", url.Values{
		"visibility": {"private"}, "join": {"open"}, "posting": {"members"}})
	if invalid.status != http.StatusBadRequest || !strings.Contains(invalid.body, "private group cannot have open joining") {
		t.Errorf("private and open: %d\n%s", invalid.status, invalid.body)
	}
	if p := admin.get("/admin/groups/nobody"); p.status != http.StatusNotFound {
		t.Errorf("console page of no group: %d", p.status)
	}
}

func TestConsoleDecidesRequestsToJoin(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", func(g *storage.Group) { g.Join = storage.JoinApproval })
	admin := signedIn(t, h)
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	follow := alice.Follow(group)
	mustPost(t, alice, group+"/inbox", follow)
	mustPost(t, bob, group+"/inbox", bob.Follow(group))

	members := admin.get("/admin/groups/grief/members")
	if !strings.Contains(members.body, "Requests to join (2)") || !strings.Contains(members.body, alice.Handle) {
		t.Fatalf("members page does not list the requests:\n%s", members.body)
	}
	if groups := admin.get("/admin/"); !strings.Contains(groups.body, "2 waiting") {
		t.Errorf("groups page does not count the requests:\n%s", groups.body)
	}
	approved := admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members", url.Values{"action": {"approve"}, "account": {alice.ID}})
	mustRedirect(t, "approve", approved, "/admin/groups/grief/members?done=approve")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Accept" && d.Inbox == alice.Inbox && objectField(d.Activity, "id") == follow["id"]
	})
	mustRedirect(t, "reject", admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members",
		url.Values{"action": {"reject"}, "account": {bob.ID}}), "/admin/groups/grief/members?done=reject")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Reject" && d.Inbox == bob.Inbox })

	again := admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members", url.Values{"action": {"approve"}, "account": {bob.ID}})
	if again.status != http.StatusBadRequest || !strings.Contains(again.body, "no pending request") {
		t.Errorf("approving a decided request: %d\n%s", again.status, again.body)
	}
	tooLong := admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members",
		url.Values{"action": {"ban"}, "account": {alice.Handle}, "days": {"100000"}})
	if tooLong.status != http.StatusBadRequest || !strings.Contains(tooLong.body, "days") {
		t.Errorf("a ban of 100000 days: %d\n%s", tooLong.status, tooLong.body)
	}
	mustRedirect(t, "ban", admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members",
		url.Values{"action": {"ban"}, "account": {alice.Handle}, "days": {"7"}, "reason": {"Spam links <b>again</b>"}}),
		"/admin/groups/grief/members?done=ban")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Block" && d.Inbox == alice.Inbox })
	members = admin.get("/admin/groups/grief/members")
	if !strings.Contains(members.body, "Banned (1)") || !strings.Contains(members.body, "Members (0)") ||
		!strings.Contains(members.body, "until ") || !strings.Contains(members.body, "Reason: Spam links &lt;b&gt;again&lt;/b&gt;") {
		t.Errorf("members page after the ban:\n%s", members.body)
	}
	mustRedirect(t, "unban", admin.submit("/admin/groups/grief/members", "/admin/groups/grief/members",
		url.Values{"action": {"unban"}, "account": {alice.ID}}), "/admin/groups/grief/members?done=unban")
	if p := admin.get("/admin/groups/grief/members"); !strings.Contains(p.body, "Nobody is banned.") {
		t.Errorf("members page after the unban:\n%s", p.body)
	}
}

func TestConsoleNamesModerators(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	admin := signedIn(t, h)
	keeper := h.network.NewInstance("mods.test").NewActor("keeper")
	mustRedirect(t, "add", admin.submit("/admin/groups/grief/moderators", "/admin/groups/grief/moderators",
		url.Values{"action": {"add"}, "account": {keeper.Handle}}), "/admin/groups/grief/moderators?done=add")
	if p := admin.get("/admin/groups/grief/moderators"); !strings.Contains(p.body, keeper.Handle) {
		t.Errorf("moderators page lacks the moderator:\n%s", p.body)
	}
	if p := admin.get("/g/grief"); strings.Contains(p.body, keeper.Handle) {
		t.Error("the group page names a moderator it was not asked to")
	}
	mustRedirect(t, "show moderators", admin.submit("/admin/groups/grief", "/admin/groups/grief", url.Values{
		"visibility": {"public"}, "join": {"open"}, "posting": {"members"}, "show_moderators": {"on"}}), "/admin/groups/grief")
	if p := admin.get("/g/grief"); !strings.Contains(p.body, keeper.Handle) {
		t.Errorf("the group page does not name its moderator:\n%s", p.body)
	}
	mustRedirect(t, "remove", admin.submit("/admin/groups/grief/moderators", "/admin/groups/grief/moderators",
		url.Values{"action": {"remove"}, "account": {keeper.ID}}), "/admin/groups/grief/moderators?done=remove")
	if p := admin.get("/admin/groups/grief/moderators"); !strings.Contains(p.body, "No moderators yet.") {
		t.Errorf("moderators page after removing:\n%s", p.body)
	}
}

func TestConsoleReleasesHeldPostsWithoutNamingTheirAuthor(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", func(g *storage.Group) { g.AnonymousPosts = true })
	masto, alice, bob := twoMastodonMembers(t, h, group)
	mustPost(t, alice, group+"/inbox", alice.Create(directMessage(group, "!anon I have not told anyone <script>alert(1)</script>")))
	admin := signedIn(t, h)
	var held []storage.Post
	h.view(func(tx *storage.Tx) (err error) {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		held, err = tx.Posts(g.ID, storage.Held, 10)
		return err
	})
	if len(held) != 1 {
		t.Fatalf("%d posts held, want 1", len(held))
	}
	p := admin.get("/admin/groups/grief/held")
	if !strings.Contains(p.body, "I have not told anyone") || strings.Contains(p.body, "<script") {
		t.Errorf("held posts page does not show the post, or shows it unsafely:\n%s", p.body)
	}
	for _, who := range []string{alice.Handle, alice.ID, "alice"} {
		if strings.Contains(p.body, who) {
			t.Errorf("held posts page names the author (%s)", who)
		}
	}
	mustRedirect(t, "release", admin.submit("/admin/groups/grief/held", "/admin/groups/grief/held",
		url.Values{"action": {"release"}, "post": {held[0].CopyID}}), "/admin/groups/grief/held?done=release")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && d.Inbox != bob.Inbox && objectField(d.Activity, "id") == held[0].CopyID
	})
	page := admin.get("/g/grief")
	if !strings.Contains(page.body, "I have not told anyone") || !strings.Contains(page.body, "Shared anonymously") {
		t.Fatalf("group page lacks the released post:\n%s", page.body)
	}
	thread := admin.get(threadPath(t, page.body))
	for _, body := range []string{page.body, thread.body} {
		for _, who := range []string{alice.Handle, alice.ID} {
			if strings.Contains(body, who) {
				t.Errorf("a public page names the anonymous author (%s)", who)
			}
		}
	}
	posts := admin.get("/admin/groups/grief/posts")
	if !strings.Contains(posts.body, "I have not told anyone") || !strings.Contains(posts.body, "Shared anonymously") {
		t.Errorf("posts tab lacks the released post:\n%s", posts.body)
	}
	for _, who := range []string{alice.Handle, alice.ID} {
		if strings.Contains(posts.body, who) {
			t.Errorf("posts tab names the anonymous author (%s)", who)
		}
	}
	if p := admin.submit("/admin/groups/grief/held", "/admin/groups/grief/held",
		url.Values{"action": {"decline"}, "post": {held[0].CopyID}}); p.status != http.StatusBadRequest {
		t.Errorf("declining a released post: %d", p.status)
	}
}

var threadLink = regexp.MustCompile(`href="` + regexp.QuoteMeta(hearthBase) + `(/g/[a-z_]+/posts/[0-9]+)"`)

// threadPath is the first thread page a group page links to.
func threadPath(t *testing.T, body string) string {
	t.Helper()
	m := threadLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page links to no thread:\n%s", body)
	}
	return m[1]
}

func TestPublicGroupPageShowsRelayedPostsAndThreads(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, bob := twoMastodonMembers(t, h, group)
	note := publicNote(alice, group, `A hard day. <img src=x onerror=alert(1)><script>alert(2)</script><a href="javascript:alert(3)">link</a>`)
	note["summary"], note["sensitive"] = "loss", true
	note["attachment"] = []any{map[string]any{"type": "Document", "mediaType": "image/jpeg",
		"url": "https://files.mastodon.test/candle.jpg", "name": "A candle in the dark"}}
	create := alice.Create(note)
	mustPost(t, alice, group+"/inbox", create)
	noteID := create["object"].(map[string]any)["id"].(string)
	awaitBoost(t, masto, noteID)
	reply := replyTo(bob, noteID, "Thinking of you.", group)
	reply["to"] = []any{"https://www.w3.org/ns/activitystreams#Public"}
	replyCreate := bob.Create(reply)
	mustPost(t, bob, group+"/inbox", replyCreate)
	awaitBoost(t, masto, replyCreate["object"].(map[string]any)["id"].(string))
	second := replyTo(alice, replyCreate["object"].(map[string]any)["id"].(string), "Thank you.", group)
	second["to"] = []any{"https://www.w3.org/ns/activitystreams#Public"}
	secondCreate := alice.Create(second)
	mustPost(t, alice, group+"/inbox", secondCreate)
	awaitBoost(t, masto, secondCreate["object"].(map[string]any)["id"].(string))

	visitor := newWebClient(t, h)
	p := visitor.get("/g/grief")
	for _, want := range []string{alice.Handle, "<details>", "Content warning: loss", "A hard day.",
		"https://files.mastodon.test/candle.jpg", "A candle in the dark", "2 replies"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("group page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"<img src=x", "onerror", "<script", "javascript:", "Thinking of you."} {
		if strings.Contains(p.body, unwanted) {
			t.Errorf("group page shows %q", unwanted)
		}
	}
	thread := visitor.get(threadPath(t, p.body))
	if thread.status != http.StatusOK {
		t.Fatalf("thread page: %d", thread.status)
	}
	first, then := strings.Index(thread.body, "Thinking of you."), strings.Index(thread.body, "Thank you.")
	if first < 0 || then < first || !strings.Contains(thread.body, "2 replies") || !strings.Contains(thread.body, bob.Handle) {
		t.Errorf("thread page does not list the replies in order:\n%s", thread.body)
	}
	if got := thread.header.Get("X-Robots-Tag"); got != "noindex" {
		t.Errorf("thread page X-Robots-Tag = %q, want noindex", got)
	}
	if p := visitor.get("/g/grief/posts/999999"); p.status != http.StatusNotFound {
		t.Errorf("thread of no post: %d", p.status)
	}
}

func TestGroupPageIsPaged(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	err := h.store.Update(context.Background(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		for i := range 25 {
			p := &storage.Post{GroupID: g.ID, ObjectID: fmt.Sprintf("https://mastodon.test/notes/%d", i),
				AuthorID: "https://mastodon.test/users/alice", ActivityID: fmt.Sprintf("https://mastodon.test/a/%d", i),
				State: storage.Relayed, Content: fmt.Sprintf("<p>post number %d.</p>", i)}
			if err := tx.CreatePost(p); err != nil {
				return err
			}
			boost := fmt.Sprintf(`{"type":"Announce","to":["https://www.w3.org/ns/activitystreams#Public"],"object":%q}`, p.ObjectID)
			err := tx.Enqueue(storage.Activity{ID: fmt.Sprintf("%s/g/grief/activities/%d", hearthBase, i), GroupID: g.ID,
				PostID: p.ID, Type: "Announce", InOutbox: true, Body: []byte(boost)}, nil)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	visitor := newWebClient(t, h)
	first := visitor.get("/g/grief")
	if !strings.Contains(first.body, "post number 24.") || strings.Contains(first.body, "post number 4.") {
		t.Errorf("first page does not hold the newest twenty posts")
	}
	older := regexp.MustCompile(`href="` + regexp.QuoteMeta(hearthBase) + `(/g/grief\?before=[0-9]+)#posts"`).FindStringSubmatch(first.body)
	if older == nil {
		t.Fatalf("first page has no link to older posts:\n%s", first.body)
	}
	second := visitor.get(older[1])
	if !strings.Contains(second.body, "post number 4.") || strings.Contains(second.body, "post number 5.") || strings.Contains(second.body, "Older posts") {
		t.Errorf("second page does not hold the five oldest posts:\n%s", second.body)
	}
	if p := visitor.get("/g/grief?before=abc"); p.status != http.StatusBadRequest {
		t.Errorf("a malformed page: %d", p.status)
	}
}

func TestPrivateGroupPagesLeakNoPostOrMember(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)
	if _, err := h.svc.AddModerator(context.Background(), "circle", bob.ID); err != nil {
		t.Fatal(err)
	}
	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "my secret words")))
	copyOf(t, masto, group, "my secret words")
	admin := signedIn(t, h)
	// Even with every option that shows more of a public group turned on.
	mustRedirect(t, "edit", admin.submit("/admin/groups/circle", "/admin/groups/circle", url.Values{
		"display_name": {"Circle"}, "summary": {"A quiet room."}, "visibility": {"private"}, "join": {"approval"},
		"posting": {"members"}, "show_moderators": {"on"}, "listed": {"on"}, "indexable": {"on"}}), "/admin/groups/circle")
	var posts []storage.Post
	h.view(func(tx *storage.Tx) (err error) {
		g, err := tx.GroupByName("circle")
		if err != nil {
			return err
		}
		posts, err = tx.Posts(g.ID, storage.Relayed, 10)
		return err
	})
	if len(posts) != 1 {
		t.Fatalf("%d relayed posts, want 1", len(posts))
	}
	visitor := newWebClient(t, h)
	pages := map[string]page{
		"home":   visitor.get("/"),
		"group":  visitor.get("/g/circle"),
		"thread": visitor.get(fmt.Sprintf("/g/circle/posts/%d", posts[0].ID)),
		"page 2": visitor.get(fmt.Sprintf("/g/circle?before=%d", posts[0].ID+1)),
	}
	if pages["thread"].status != http.StatusNotFound {
		t.Errorf("thread page of a private group: %d, want 404", pages["thread"].status)
	}
	if !strings.Contains(pages["group"].body, "A quiet room.") || !strings.Contains(pages["group"].body, "ask to join") {
		t.Errorf("private group page lacks its description or how to ask to join:\n%s", pages["group"].body)
	}
	for name, p := range pages {
		for _, leak := range []string{"my secret words", alice.Handle, bob.Handle, alice.ID, bob.ID, "2 members", "Moderators"} {
			if strings.Contains(p.body, leak) {
				t.Errorf("%s page shows %q", name, leak)
			}
		}
		if name != "thread" && p.header.Get("X-Robots-Tag") != "noindex" {
			t.Errorf("%s page may be indexed", name)
		}
	}

	// Made public, the group still keeps what it shared with its members
	// alone.
	mustRedirect(t, "make public", admin.submit("/admin/groups/circle", "/admin/groups/circle", url.Values{
		"visibility": {"public"}, "join": {"approval"}, "posting": {"members"}}), "/admin/groups/circle")
	if p := visitor.get("/g/circle"); strings.Contains(p.body, "my secret words") || !strings.Contains(p.body, "Nothing has been shared here yet.") {
		t.Errorf("a group made public shows what it shared with its members alone:\n%s", p.body)
	}
	if p := visitor.get(fmt.Sprintf("/g/circle/posts/%d", posts[0].ID)); p.status != http.StatusNotFound {
		t.Errorf("thread page of a members-only post of a group made public: %d, want 404", p.status)
	}
}

func TestGroupPagesAreIndexedOnlyWhenTheGroupOptsIn(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	admin := signedIn(t, h)
	if p := admin.get("/g/grief"); p.header.Get("X-Robots-Tag") != "noindex" || !strings.Contains(p.body, `<meta name="robots" content="noindex">`) {
		t.Errorf("a group that did not opt in may be indexed")
	}
	mustRedirect(t, "opt in", admin.submit("/admin/groups/grief", "/admin/groups/grief", url.Values{
		"visibility": {"public"}, "join": {"open"}, "posting": {"members"}, "indexable": {"on"}}), "/admin/groups/grief")
	if p := admin.get("/g/grief"); p.header.Get("X-Robots-Tag") != "" || strings.Contains(p.body, "noindex") {
		t.Errorf("a group that opted in is not indexable")
	}
	if p := admin.get("/"); p.header.Get("X-Robots-Tag") != "noindex" {
		t.Errorf("the home page may be indexed")
	}
}

func TestFollowFormSendsTheVisitorToTheirServer(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	visitor := newWebClient(t, h)
	if p := visitor.get("/g/grief"); !strings.Contains(p.body, `action="`+hearthBase+`/g/grief/follow"`) {
		t.Fatalf("group page has no follow form:\n%s", p.body)
	}
	p := visitor.get("/g/grief/follow?account=" + url.QueryEscape(alice.Handle))
	want := "http://mastodon.test/authorize_interaction?uri=grief%40" + hearthHost
	if p.status != http.StatusSeeOther || p.location != want {
		t.Errorf("follow: %d to %q, want 303 to %q", p.status, p.location, want)
	}
	if p := visitor.get("/g/grief/follow?account=" + url.QueryEscape("not a handle")); p.status != http.StatusBadRequest || !strings.Contains(p.body, "@you@your.server") {
		t.Errorf("follow with no handle: %d\n%s", p.status, p.body)
	}
	if p := visitor.get("/g/grief/follow?account=" + url.QueryEscape("@bob@nowhere.test")); p.status != http.StatusBadGateway || !strings.Contains(p.body, "@grief@"+hearthHost) {
		t.Errorf("follow from an unknown server: %d\n%s", p.status, p.body)
	}
	if p := visitor.get("/g/nobody/follow?account=" + url.QueryEscape(alice.Handle)); p.status != http.StatusNotFound {
		t.Errorf("follow of no group: %d", p.status)
	}
}

// pngIcon is a small PNG image.
func pngIcon(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a file to the icon form.
func (c *webClient) upload(group string, data []byte) page {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", c.token("/admin/groups/"+group))
	fw, err := mw.CreateFormFile("icon", "icon.png")
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+"/admin/groups/"+group+"/icon", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.base)
	return c.do(req)
}

func TestConsoleUploadsIconsServedByTheInstance(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, _, _ := twoMastodonMembers(t, h, group)
	admin := signedIn(t, h)
	icon := pngIcon(t)
	mustRedirect(t, "upload", admin.upload("grief", icon), "/admin/groups/grief?done=icon")
	update := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Update" })
	iconURL, _ := objectField(update.Activity, "icon").(map[string]any)["url"].(string)
	if !strings.HasPrefix(iconURL, hearthBase+"/g/grief/icon?v=") {
		t.Fatalf("the profile Update names icon %q", iconURL)
	}
	served := admin.get(strings.TrimPrefix(iconURL, hearthBase))
	if served.status != http.StatusOK || served.header.Get("Content-Type") != "image/png" || served.body != string(icon) {
		t.Errorf("icon served as %d %q", served.status, served.header.Get("Content-Type"))
	}
	if p := admin.get("/g/grief"); !strings.Contains(p.body, `src="`+iconURL) {
		t.Errorf("group page does not show the icon")
	}
	for name, data := range map[string][]byte{
		"text":   []byte("<svg onload=alert(1)></svg>"),
		"broken": append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...),
		"large":  append(append([]byte(nil), icon...), make([]byte, 1<<20)...),
	} {
		p := admin.upload("grief", data)
		if p.status != http.StatusBadRequest && p.status != http.StatusRequestEntityTooLarge {
			t.Errorf("uploading a %s file: %d", name, p.status)
		}
	}
	if p := admin.get("/g/nobody/icon"); p.status != http.StatusNotFound {
		t.Errorf("icon of no group: %d", p.status)
	}
}

func TestConsoleShowsDeliveryHealth(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	admin := signedIn(t, h)
	if p := admin.get("/admin/federation"); !strings.Contains(p.body, "0 delivered, 0 failed") || !strings.Contains(p.body, "Every server is up to date") {
		t.Errorf("federation page of a quiet instance:\n%s", p.body)
	}
	// One attempt delivered and one failed, recorded as the delivery
	// workers record them, but in the same transaction as the queueing, so
	// that the workers never see them.
	err := h.store.Update(context.Background(), func(tx *storage.Tx) error {
		activity := storage.Activity{ID: hearthBase + "/activities/1", Type: "Announce", Body: []byte(`{}`)}
		if err := tx.Enqueue(activity, []string{"https://up.test/inbox", "https://down.test/inbox", "https://down.test/users/x/inbox"}); err != nil {
			return err
		}
		jobs, err := tx.ClaimDeliveries(10, 10, 1, tx.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		var outcomes []storage.Outcome
		for _, j := range jobs {
			o := storage.Outcome{Job: j, Verdict: storage.Delivered}
			if j.Host == "down.test" {
				o.Verdict, o.Error = storage.RetryLater, "HTTP 503"
				o.NextAttempt, o.HostRetryAt = tx.Now().Add(time.Hour), tx.Now().Add(time.Hour)
			}
			outcomes = append(outcomes, o)
		}
		return tx.RecordOutcomes(outcomes)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := admin.get("/admin/federation")
	for _, want := range []string{"<svg", `role="img"`, "Delivery attempts per hour", "1 delivered, 1 failed",
		"<th scope=\"row\">down.test</th>\n<td>2</td>\n<td>1</td>", "HTTP 503", "2 queued"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("federation page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "up.test") {
		t.Error("federation page lists a healthy server with nothing queued")
	}
}

func TestAdminCreateMakesAnAccountThatSignsIn(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, nil)
	passwordFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(passwordFile, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustHearth(t, env(m), "admin", "create", "keeper", "--password-file", passwordFile)
	if !strings.Contains(out, "created administrator keeper") || !strings.Contains(out, m.Config.Server.BaseURL+"/admin/") {
		t.Errorf("admin create printed %q", out)
	}
	if code, _, stderr := hearth(t, env(m), "admin", "create", "Keeper", "--password-file", passwordFile); code != 1 || !strings.Contains(stderr, "exists already") {
		t.Errorf("creating the same name again: exit %d, %q", code, stderr)
	}
	if code, _, _ := hearth(t, env(m), "admin", "create", "--password-file", passwordFile); code != 2 {
		t.Errorf("admin create without a name: exit %d, want 2", code)
	}
	c := browse(t, m.Config.Server.BaseURL, http.DefaultTransport)
	mustRedirect(t, "setup once an administrator exists", c.get("/admin/setup"), "/admin/login")
	mustRedirect(t, "sign-in", c.submit("/admin/login", "/admin/login", url.Values{"username": {"keeper"}, "password": {adminPassword}}), "/admin/")
	if p := c.get("/admin/"); p.status != http.StatusOK || !strings.Contains(p.body, "Sign out keeper") {
		t.Errorf("console after signing in: %d", p.status)
	}
}

func TestConsoleNamesTheInstance(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	admin := signedIn(t, h)
	if p := admin.get("/"); !strings.Contains(p.body, "<h1>Groups on "+hearthHost+"</h1>") {
		t.Errorf("home page of an unnamed instance:\n%s", p.body)
	}
	mustRedirect(t, "save", admin.submit("/admin/settings", "/admin/settings", url.Values{
		"name": {"Riverside circles"}, "description": {"Peer support groups run by volunteers <b>since 2020</b>."}}),
		"/admin/settings?done=saved")
	home := admin.get("/")
	if !strings.Contains(home.body, "<h1>Riverside circles</h1>") || !strings.Contains(home.body, "run by volunteers &lt;b&gt;since 2020&lt;/b&gt;.") {
		t.Errorf("home page does not show the name and description, escaped:\n%s", home.body)
	}
	long := admin.submit("/admin/settings", "/admin/settings", url.Values{"name": {strings.Repeat("x", 101)}})
	if long.status != http.StatusBadRequest || !strings.Contains(long.body, "too long") {
		t.Errorf("a name too long: %d", long.status)
	}
}
