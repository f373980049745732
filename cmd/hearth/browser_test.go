package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// screenshotsEnv names a directory where the browser test keeps its
// screenshots; without it they go to the test's temporary directory.
const screenshotsEnv = "HEARTH_SCREENSHOTS"

// chromium finds a Chromium or Chrome to drive, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium installed, so the browser test cannot run: apt-get install -y chromium (.ci/run does)")
	return ""
}

// browser starts a headless Chromium whose every request goes to the test
// network, where the instance answers as hearth.test.
func browser(t *testing.T, h *runningHearth) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		// No UserDataDir: chromedp makes its own profile directory and
		// removes it once Chromium exits. In the test's TempDir, a helper
		// process still writing there after the browser closed failed the
		// test's cleanup.
		// The network's server routes by the Host a proxied request names.
		chromedp.ProxyServer("http://"+h.network.Addr()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.WindowSize(1000, 900),
	)
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAllocator)
	ctx, cancel := chromedp.NewContext(allocator)
	t.Cleanup(cancel)
	// The browser starts with the first Run, and lives as long as the
	// context of that Run: the test's steps each get a shorter one.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where the screenshots go.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBrowserRunsTheConsoleAndReadsAGroup(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	ctx := browser(t, h)
	shots := screenshotDir(t)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(step, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	screenshot := func(name string) {
		t.Helper()
		var png []byte
		run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(what, sel string) string {
		t.Helper()
		var s string
		run(what, chromedp.Text(sel, &s, chromedp.ByQuery))
		return s
	}
	submit := `main form button[type=submit]`

	// A new instance opens on its setup page.
	run("setup",
		chromedp.Navigate(hearthBase+"/admin/"),
		chromedp.WaitVisible(`#password2`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, adminPassword, chromedp.ByQuery),
		chromedp.SendKeys(`#password2`, adminPassword, chromedp.ByQuery),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/admin/groups/new"]`, chromedp.ByQuery),
	)
	// Sign out and in again, as the admin will next time.
	run("sign out",
		chromedp.Click(`header form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#password`, chromedp.ByQuery),
	)
	run("sign in",
		chromedp.SendKeys(`#username`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, adminPassword, chromedp.ByQuery),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/admin/groups/new"]`, chromedp.ByQuery),
	)
	run("create a group",
		chromedp.Click(`a[href="/admin/groups/new"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#name`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, "grief", chromedp.ByQuery),
		chromedp.SendKeys(`#display_name`, "Grief support", chromedp.ByQuery),
		chromedp.SendKeys(`#summary`, "A place to talk about loss, at your own pace.", chromedp.ByQuery),
		chromedp.SendKeys(`#rules`, "Be kind. No advice unless asked.", chromedp.ByQuery),
		chromedp.SetValue(`#join`, "approval", chromedp.ByQuery),
		chromedp.Click(`input[name=show_moderators]`, chromedp.ByQuery),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
	)
	if got := text("notice", `p.notice`); !strings.Contains(got, "The group was created.") {
		t.Errorf("after creating: %q", got)
	}
	run("home page", chromedp.Navigate(hearthBase+"/"), chromedp.WaitVisible(`ul.groups`, chromedp.ByQuery))
	if got := text("home page", `main`); !strings.Contains(got, "Grief support") || !strings.Contains(got, "@grief@"+hearthHost) {
		t.Errorf("home page does not list the group:\n%s", got)
	}

	// Two people ask to join; the admin approves them from the console.
	group := hearthBase + "/g/grief"
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	for _, who := range []*fedtest.Actor{alice, bob} {
		mustPost(t, who, group+"/inbox", who.Follow(group))
	}
	for _, who := range []*fedtest.Actor{alice, bob} {
		run("approve "+who.Handle,
			chromedp.Navigate(hearthBase+"/admin/groups/grief/members"),
			chromedp.Click(`button[aria-label="Approve @`+who.Handle+`"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		)
		masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Accept" && d.Inbox == who.Inbox })
	}
	if got := text("members", `main`); !strings.Contains(got, "Members (2)") || !strings.Contains(got, "Requests to join (0)") {
		t.Errorf("members page after approving:\n%s", got)
	}
	screenshot("console-members")
	if _, err := h.svc.AddModerator(context.Background(), "grief", bob.ID); err != nil {
		t.Fatal(err)
	}

	// Alice posts, Bob answers; a visitor reads both.
	note := publicNote(alice, group, "Today would have been her birthday. I lit a candle and it helped a little.")
	note["attachment"] = []any{map[string]any{"type": "Document", "mediaType": "image/jpeg",
		"url": "https://files.mastodon.test/candle.jpg", "name": "A candle on a windowsill"}}
	post := alice.Create(note)
	mustPost(t, alice, group+"/inbox", post)
	postID := post["object"].(map[string]any)["id"].(string)
	awaitBoost(t, masto, postID)
	reply := replyTo(bob, postID, "Thinking of you both today.", group)
	reply["to"] = []any{activitypub.Public}
	answer := bob.Create(reply)
	mustPost(t, bob, group+"/inbox", answer)
	awaitBoost(t, masto, answer["object"].(map[string]any)["id"].(string))

	run("group page", chromedp.Navigate(group), chromedp.WaitVisible(`ul.posts`, chromedp.ByQuery))
	page := text("group page", `main`)
	for _, want := range []string{"Grief support", "Be kind.", "@grief@" + hearthHost, alice.Handle, "lit a candle", "A candle on a windowsill", "1 reply", bob.Handle} {
		if !strings.Contains(page, want) {
			t.Errorf("group page lacks %q:\n%s", want, page)
		}
	}
	screenshot("group-page")
	run("thread", chromedp.Click(`ul.posts li > .meta a`, chromedp.ByQuery), chromedp.WaitVisible(`ol.posts`, chromedp.ByQuery))
	if got := text("thread", `ol.posts`); !strings.Contains(got, "Thinking of you both today.") {
		t.Errorf("thread page lacks the reply:\n%s", got)
	}
	screenshot("thread")

	// The admin pins Alice's post; the group page lists it first.
	run("pin",
		chromedp.Navigate(hearthBase+"/admin/groups/grief/posts"),
		chromedp.Click(`button[aria-label^="Pin the post by @`+alice.Handle+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
	)
	masto.AwaitDelivery(t, wait, fedtest.OfType("Add"))
	screenshot("console-posts")
	run("group page with a pinned post", chromedp.Navigate(group), chromedp.WaitVisible(`#pinned`, chromedp.ByQuery))
	if got := text("pinned post", `#pinned + ul.posts`); !strings.Contains(got, "lit a candle") {
		t.Errorf("the pinned list lacks the pinned post:\n%s", got)
	}

	run("federation page", chromedp.Navigate(hearthBase+"/admin/federation"), chromedp.WaitVisible(`svg.chart`, chromedp.ByQuery))
	screenshot("console-federation")
	run("domains page", chromedp.Navigate(hearthBase+"/admin/federation/domains"), chromedp.WaitVisible(`#block-domain`, chromedp.ByQuery))
	screenshot("console-domains")
	var g storage.Group
	h.view(func(tx *storage.Tx) (err error) { g, err = tx.GroupByName("grief"); return err })
	if g.Join != storage.JoinApproval || g.DisplayName != "Grief support" {
		t.Errorf("stored group %+v", g)
	}
	t.Logf("screenshots in %s", shots)
}
