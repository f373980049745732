package templates

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// The console is made of sections, and a group's page of tabs (the
// Federation section's pages are federationTabs). A new one is a template,
// a handler, an entry in one of these lists, and its routes in
// cmd/hearth/routes.go.
type navEntry struct {
	Key   string
	Title string
	Path  string // under /admin for a section, under the group's page for a tab
}

var consoleSections = []navEntry{
	{"groups", "Groups", "/"},
	{"federation", "Federation", "/federation"},
	{"settings", "Settings", "/settings"},
}

var groupTabs = []navEntry{
	{"profile", "Profile", ""},
	{"members", "Members", "/members"},
	{"moderators", "Moderators", "/moderators"},
	{"posts", "Posts", "/posts"},
	{"held", "Held posts", "/held"},
	{"reports", "Reports", "/reports"},
	{"log", "Moderation log", "/log"},
}

func init() {
	funcs["sections"] = func() []navEntry { return consoleSections }
	funcs["groupTabs"] = func() []navEntry { return groupTabs }
}

// Limits of what the console stores, in characters.
const (
	maxDisplayName = 100
	maxSummary     = 2000
	maxRules       = 5000
	maxWarning     = 200
	maxReason      = 500
)

// groupRow is one group in the console's list.
type groupRow struct {
	Name        string
	DisplayName string
	Private     bool
	Members     int
	Pending     int
	Banned      int
	Held        int
	Reports     int
}

// reportsCounted bounds the open reports the list of groups counts.
const reportsCounted = 100

type groupsPage struct {
	frame
	Groups []groupRow
}

// Groups lists every group with what waits for the admin.
func (p *Pages) Groups(w http.ResponseWriter, r *http.Request) {
	page := groupsPage{frame: consoleFrame(r, "groups")}
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			counts, err := tx.MembershipCounts(g.ID)
			if err != nil {
				return err
			}
			held, err := tx.CountGroupPosts(g.ID, storage.Held)
			if err != nil {
				return err
			}
			reports, err := tx.Reports(g.ID, storage.ReportOpen, reportsCounted)
			if err != nil {
				return err
			}
			page.Groups = append(page.Groups, groupRow{Name: g.Name, DisplayName: g.DisplayName,
				Private: g.Visibility == storage.Private, Members: counts[storage.Member],
				Pending: counts[storage.Pending], Banned: counts[storage.Banned], Held: held, Reports: len(reports)})
		}
		return nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "admin_groups.html", &page)
}

// groupForm is a group's settings as the console edits them.
type groupForm struct {
	Name            string
	DisplayName     string
	Summary         string
	Rules           string
	IconURL         string
	Visibility      storage.Visibility
	Join            storage.JoinPolicy
	Posting         storage.PostingPolicy
	AnonymousPosts  bool
	HideMemberCount bool
	ContentWarning  string
	Listed          bool
	ShowModerators  bool
	Indexable       bool
	Hold            storage.HoldPolicy
	HoldDays        int
	HoldPosts       int
	HoldMentions    int
	NonMembers      storage.NonMemberPolicy
	Replies         storage.ReplyScope
	// Questions holds one question a line, TrustedDomains the domains
	// separated by spaces.
	Questions      string
	TrustedDomains string
}

func formOf(g storage.Group, settings storage.GroupPage) groupForm {
	return groupForm{Name: g.Name, DisplayName: g.DisplayName, Summary: g.Summary, Rules: settings.Rules,
		IconURL: g.IconURL, Visibility: g.Visibility, Join: g.Join, Posting: g.Posting,
		AnonymousPosts: g.AnonymousPosts, HideMemberCount: g.HideMemberCount, ContentWarning: g.ContentWarning,
		Listed: settings.Listed, ShowModerators: settings.ShowModerators, Indexable: settings.Indexable,
		Hold: g.Hold, HoldDays: g.HoldDays, HoldPosts: g.HoldPosts, HoldMentions: g.HoldMentions,
		NonMembers: g.NonMembers, Replies: g.Replies,
		Questions: strings.Join(g.Questions, "\n"), TrustedDomains: strings.Join(g.TrustedDomains, " ")}
}

// newGroupForm is the form of a group about to be created: the settings a
// group has when none are given.
func newGroupForm() groupForm {
	return groupForm{Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers,
		Hold: storage.HoldNone, HoldDays: storage.DefaultHoldDays, HoldPosts: storage.DefaultHoldPosts,
		HoldMentions: storage.DefaultHoldMentions, NonMembers: storage.NonMembersRefused, Replies: storage.RepliesAll}
}

// maxHoldCount bounds the hold settings' days, posts and groups, as the
// command line does.
const maxHoldCount = 3650

// readGroupForm reads the posted settings; the name is read only when a
// group is created.
func readGroupForm(r *http.Request) (groupForm, string) {
	on := func(field string) bool { return r.PostFormValue(field) == "on" }
	f := groupForm{
		Name:            strings.TrimSpace(r.PostFormValue("name")),
		DisplayName:     strings.TrimSpace(r.PostFormValue("display_name")),
		Summary:         strings.TrimSpace(r.PostFormValue("summary")),
		Rules:           strings.TrimSpace(r.PostFormValue("rules")),
		Visibility:      storage.Visibility(r.PostFormValue("visibility")),
		Join:            storage.JoinPolicy(r.PostFormValue("join")),
		Posting:         storage.PostingPolicy(r.PostFormValue("posting")),
		AnonymousPosts:  on("anonymous_posts"),
		HideMemberCount: on("hide_member_count"),
		ContentWarning:  strings.TrimSpace(r.PostFormValue("content_warning")),
		Listed:          on("listed"),
		ShowModerators:  on("show_moderators"),
		Indexable:       on("indexable"),
		Hold:            storage.HoldPolicy(r.PostFormValue("hold")),
		NonMembers:      storage.NonMemberPolicy(r.PostFormValue("non_members")),
		Replies:         storage.ReplyScope(r.PostFormValue("replies")),
		Questions:       strings.TrimSpace(r.PostFormValue("questions")),
		TrustedDomains:  strings.TrimSpace(r.PostFormValue("trusted_domains")),
	}
	// A count left empty takes its default, as on the command line.
	counts := []struct {
		field string
		into  *int
		def   int
	}{
		{"hold_days", &f.HoldDays, storage.DefaultHoldDays},
		{"hold_posts", &f.HoldPosts, storage.DefaultHoldPosts},
		{"hold_mentions", &f.HoldMentions, storage.DefaultHoldMentions},
	}
	for _, c := range counts {
		*c.into = c.def
		if v := strings.TrimSpace(r.PostFormValue(c.field)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxHoldCount {
				return f, "The days, posts and groups of the hold settings are whole numbers from 1 to 3650."
			}
			*c.into = n
		}
	}
	switch {
	case !validText(f.DisplayName, maxDisplayName):
		return f, "The display name is too long."
	case !validText(f.Summary, maxSummary):
		return f, "The description is too long."
	case !validText(f.Rules, maxRules):
		return f, "The rules are too long."
	case !validText(f.ContentWarning, maxWarning):
		return f, "The content warning is too long."
	}
	return f, ""
}

func (f groupForm) apply(g *storage.Group) {
	g.DisplayName, g.Summary = f.DisplayName, f.Summary
	g.Visibility, g.Join, g.Posting = f.Visibility, f.Join, f.Posting
	g.AnonymousPosts, g.HideMemberCount, g.ContentWarning = f.AnonymousPosts, f.HideMemberCount, f.ContentWarning
	g.Hold, g.HoldDays, g.HoldPosts, g.HoldMentions = f.Hold, f.HoldDays, f.HoldPosts, f.HoldMentions
	g.NonMembers, g.Replies = f.NonMembers, f.Replies
	g.Questions = nil
	for _, q := range strings.Split(f.Questions, "\n") {
		if q = strings.TrimSpace(q); q != "" {
			g.Questions = append(g.Questions, q)
		}
	}
	g.TrustedDomains = strings.FieldsFunc(f.TrustedDomains, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

func (f groupForm) settings(groupID int64) storage.GroupPage {
	return storage.GroupPage{GroupID: groupID, Rules: f.Rules, Listed: f.Listed, ShowModerators: f.ShowModerators,
		Indexable: f.Indexable}
}

type newGroupPage struct {
	frame
	Form groupForm
}

// NewGroupForm shows the form that creates a group.
func (p *Pages) NewGroupForm(w http.ResponseWriter, r *http.Request) {
	page := newGroupPage{frame: consoleFrame(r, "groups"), Form: newGroupForm()}
	p.render(w, r, http.StatusOK, "admin_group_new.html", &page)
}

// CreateGroup creates a group with a fresh key and opens its page.
func (p *Pages) CreateGroup(w http.ResponseWriter, r *http.Request) {
	form, problem := readGroupForm(r)
	page := newGroupPage{frame: consoleFrame(r, "groups"), Form: form}
	if problem != "" {
		page.Error = problem
		p.render(w, r, http.StatusBadRequest, "admin_group_new.html", &page)
		return
	}
	g := storage.Group{Name: form.Name}
	form.apply(&g)
	if err := p.fed.CreateGroup(r.Context(), &g); err != nil {
		page.Error = err.Error()
		p.render(w, r, http.StatusBadRequest, "admin_group_new.html", &page)
		return
	}
	err := p.store.Update(r.Context(), func(tx *storage.Tx) error { return tx.SetGroupPage(form.settings(g.ID)) })
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.log.Info("group created in the console", "group", g.Name)
	http.Redirect(w, r, groupConsole(g.Name)+"?done=created", http.StatusSeeOther)
}

func groupConsole(name string) string { return consolePath + "/groups/" + name }

// groupTab is the part of every tab of a group's console page.
type groupTab struct {
	frame
	Name        string
	DisplayName string
	Handle      string
	URL         string
	Tab         string
}

// consoleGroup loads the group named in the URL for one of its tabs, and
// runs fn with it in the same read transaction.
func (p *Pages) consoleGroup(r *http.Request, tab string, fn func(*storage.Tx, storage.Group) error) (groupTab, error) {
	var t groupTab
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(r.PathValue("name"))
		if err != nil {
			return err
		}
		t = groupTab{frame: consoleFrame(r, "groups"), Name: g.Name, DisplayName: g.DisplayName,
			Handle: "@" + g.Name + "@" + p.iris.Host(), URL: p.iris.Group(g.Name), Tab: tab}
		if t.DisplayName == "" {
			t.DisplayName = g.Name
		}
		return fn(tx, g)
	})
	return t, err
}

// showTab renders a tab, or the page that says why it cannot be.
func (p *Pages) showTab(w http.ResponseWriter, r *http.Request, status int, page string, data framed, err error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		p.notFound(w, r, "There is no group called "+r.PathValue("name")+" here.")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.render(w, r, status, page, data)
	}
}

type groupProfilePage struct {
	groupTab
	Form groupForm
}

// GroupProfile shows a group's settings for editing.
func (p *Pages) GroupProfile(w http.ResponseWriter, r *http.Request) {
	p.groupProfile(w, r, http.StatusOK, "", nil)
}

func (p *Pages) groupProfile(w http.ResponseWriter, r *http.Request, status int, problem string, posted *groupForm) {
	var page groupProfilePage
	var err error
	page.groupTab, err = p.consoleGroup(r, "profile", func(tx *storage.Tx, g storage.Group) error {
		settings, err := tx.GroupPage(g.ID)
		page.Form = formOf(g, settings)
		return err
	})
	if posted != nil {
		posted.Name, posted.IconURL = page.Form.Name, page.Form.IconURL
		page.Form = *posted
	}
	page.Error = problem
	p.showTab(w, r, status, "admin_group.html", &page, err)
}

// UpdateGroup saves a group's settings and sends its new profile to the
// members' servers.
func (p *Pages) UpdateGroup(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	form, problem := readGroupForm(r)
	if problem != "" {
		p.groupProfile(w, r, http.StatusBadRequest, problem, &form)
		return
	}
	if ok, err := p.groupExists(r, name); !ok || err != nil {
		p.showTab(w, r, 0, "", nil, errors.Join(err, storage.ErrNotFound))
		return
	}
	g, err := p.fed.UpdateGroup(r.Context(), name, form.apply)
	if err != nil {
		p.groupProfile(w, r, http.StatusBadRequest, err.Error(), &form)
		return
	}
	if err := p.store.Update(r.Context(), func(tx *storage.Tx) error { return tx.SetGroupPage(form.settings(g.ID)) }); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, groupConsole(name)+"?done=saved", http.StatusSeeOther)
}

func (p *Pages) groupExists(r *http.Request, name string) (bool, error) {
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		_, err := tx.GroupByName(name)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// accountRow is a remote account as the console lists it.
type accountRow struct {
	ID     string
	Handle string
	Name   string
	Since  time.Time
	// A ban's terms.
	Until  time.Time
	Reason string
}

func accountOf(tx *storage.Tx, id string, since time.Time) (accountRow, error) {
	a, err := tx.Actor(id)
	if errors.Is(err, storage.ErrNotFound) {
		return accountRow{ID: id, Handle: id, Since: since}, nil
	}
	return accountRow{ID: id, Handle: a.Handle(), Name: activitypub.PlainText(a.Name), Since: since}, err
}

type membersPage struct {
	groupTab
	Pending []accountRow
	Members []accountRow
	Banned  []accountRow
	Account string
}

// Members lists a group's requests to join, members and bans.
func (p *Pages) Members(w http.ResponseWriter, r *http.Request) {
	p.members(w, r, http.StatusOK, "", "")
}

func (p *Pages) members(w http.ResponseWriter, r *http.Request, status int, problem, account string) {
	page := membersPage{Account: account}
	var err error
	page.groupTab, err = p.consoleGroup(r, "members", func(tx *storage.Tx, g storage.Group) error {
		for state, list := range map[storage.MemberState]*[]accountRow{
			storage.Pending: &page.Pending, storage.Member: &page.Members, storage.Banned: &page.Banned} {
			rows, err := tx.Memberships(g.ID, state)
			if err != nil {
				return err
			}
			for _, m := range rows {
				a, err := accountOf(tx, m.ActorID, m.UpdatedAt)
				if err != nil {
					return err
				}
				a.Until, a.Reason = m.BanExpiresAt, m.BanReason
				*list = append(*list, a)
			}
		}
		return nil
	})
	page.Error = problem
	p.showTab(w, r, status, "admin_members.html", &page, err)
}

// DecideMember approves, rejects, bans or unbans an account.
func (p *Pages) DecideMember(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"approve": p.memberAction(p.fed.ApproveMember),
		"reject":  p.memberAction(p.fed.RejectMember),
		"ban":     p.ban,
		"unban":   p.memberAction(p.fed.UnbanMember),
	}
	p.act(w, r, actions, "account", "/members", p.members)
}

// ban bans an account for good, or for the posted number of days (the
// federation service says how many may be), with the posted reason.
func (p *Pages) ban(r *http.Request, group, account string) error {
	days := 0
	if v := strings.TrimSpace(r.PostFormValue("days")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("the length of a ban is a number of days, or empty for a ban until lifted")
		}
		days = n
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if !validText(reason, maxReason) {
		return errors.New("the reason is too long")
	}
	_, err := p.fed.BanMember(r.Context(), group, account, days, reason)
	return err
}

type accountDecision func(ctx context.Context, group, account string) (storage.Actor, error)

func (p *Pages) memberAction(decide accountDecision) func(*http.Request, string, string) error {
	return func(r *http.Request, group, account string) error {
		_, err := decide(r.Context(), group, account)
		return err
	}
}

type moderatorsPage struct {
	groupTab
	Moderators []accountRow
	Account    string
}

// Moderators lists a group's moderators.
func (p *Pages) Moderators(w http.ResponseWriter, r *http.Request) {
	p.moderators(w, r, http.StatusOK, "", "")
}

func (p *Pages) moderators(w http.ResponseWriter, r *http.Request, status int, problem, account string) {
	page := moderatorsPage{Account: account}
	var err error
	page.groupTab, err = p.consoleGroup(r, "moderators", func(tx *storage.Tx, g storage.Group) error {
		ids, err := tx.Moderators(g.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, err := accountOf(tx, id, time.Time{})
			if err != nil {
				return err
			}
			page.Moderators = append(page.Moderators, a)
		}
		return nil
	})
	page.Error = problem
	p.showTab(w, r, status, "admin_moderators.html", &page, err)
}

// ChangeModerators adds or removes a moderator.
func (p *Pages) ChangeModerators(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"add":    p.memberAction(p.fed.AddModerator),
		"remove": p.memberAction(p.fed.RemoveModerator),
	}
	p.act(w, r, actions, "account", "/moderators", p.moderators)
}

// heldRow is an anonymous post waiting for a moderator. Its author is not
// shown: the group's moderators are told who wrote it, and nobody else.
type heldRow struct {
	URL      string
	Warning  string
	Content  template.HTML
	Received time.Time
}

type heldPage struct {
	groupTab
	Posts []heldRow
}

// heldLimit bounds the held posts listed at once.
const heldLimit = 200

// Held lists a group's posts waiting for a moderator.
func (p *Pages) Held(w http.ResponseWriter, r *http.Request) {
	p.held(w, r, http.StatusOK, "", "")
}

func (p *Pages) held(w http.ResponseWriter, r *http.Request, status int, problem, _ string) {
	var page heldPage
	var err error
	page.groupTab, err = p.consoleGroup(r, "held", func(tx *storage.Tx, g storage.Group) error {
		posts, err := tx.Posts(g.ID, storage.Held, heldLimit)
		for _, post := range posts {
			page.Posts = append(page.Posts, heldRow{URL: post.CopyID, Warning: post.Summary,
				Content: template.HTML(activitypub.SanitizeHTML(post.Content)), Received: post.CreatedAt})
		}
		return err
	})
	page.Error = problem
	p.showTab(w, r, status, "admin_held.html", &page, err)
}

// DecideHeld releases or declines a held post.
func (p *Pages) DecideHeld(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"release": func(r *http.Request, group, post string) error { return p.fed.ReleasePost(r.Context(), group, post) },
		"decline": func(r *http.Request, group, post string) error { return p.fed.DeclinePost(r.Context(), group, post) },
	}
	p.act(w, r, actions, "post", "/held", p.held)
}

// act runs the posted action of a group's tab on the posted subject (an
// account, a post), then goes back to the tab saying what was done, or
// shows the tab again with what went wrong.
func (p *Pages) act(w http.ResponseWriter, r *http.Request, actions map[string]func(*http.Request, string, string) error,
	subjectField, tab string, show func(http.ResponseWriter, *http.Request, int, string, string)) {
	name, action := r.PathValue("name"), r.PostFormValue("action")
	subject := strings.TrimSpace(r.PostFormValue(subjectField))
	run, ok := actions[action]
	switch {
	case !ok:
		show(w, r, http.StatusBadRequest, "Unknown action.", subject)
		return
	case subject == "":
		show(w, r, http.StatusBadRequest, "Say whom or what this is about.", subject)
		return
	}
	if exists, err := p.groupExists(r, name); !exists || err != nil {
		p.showTab(w, r, 0, "", nil, errors.Join(err, storage.ErrNotFound))
		return
	}
	if err := run(r, name, subject); err != nil {
		show(w, r, http.StatusBadRequest, err.Error(), subject)
		return
	}
	p.log.Info("console action", "group", name, "action", action)
	http.Redirect(w, r, groupConsole(name)+backTo(r, tab)+"?done="+action, http.StatusSeeOther)
}

// backTo is the path of the tab a form names in its "back" field, when it
// acts from another tab than the action's own (the Reports tab removes
// posts and bans accounts), or else tab.
func backTo(r *http.Request, tab string) string {
	back := r.PostFormValue("back")
	for _, t := range groupTabs {
		if t.Key == back {
			return t.Path
		}
	}
	return tab
}
