package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// Moderators run a group from their own accounts: a direct message from
// one of them to the group is a command, and the group answers it with a
// direct message in reply. Whatever a command changes is signed by the
// group, never by the moderator, so members never learn which moderator
// acted.

// command is a direct message to the group read as an instruction: its
// first word after the mentions, and the words after that.
type command struct {
	verb string
	args []string
}

// parseCommand reads the plain text of a message, skipping the mentions it
// starts with, as Mastodon puts the addressees first. Clients wrap links
// and mentions in markup of their own; only the text counts.
func parseCommand(content string) command {
	words := strings.Fields(activitypub.PlainText(content))
	for len(words) > 0 && strings.HasPrefix(words[0], "@") {
		words = words[1:]
	}
	if len(words) == 0 {
		return command{}
	}
	return command{verb: strings.ToLower(words[0]), args: words[1:]}
}

// argShape is what a command takes after its verb.
type argShape int

const (
	noArgs argShape = iota
	oneAccount
	accountAndMore // an account, then optional words
	oneURL
	urlAndMore // an address, then optional words
	oneNumber
)

// moderatorCommand is one command, as the help lists it.
type moderatorCommand struct {
	verb    string
	usage   string
	summary string
	shape   argShape
}

// moderatorCommands are the commands moderators send, in the order the
// help lists them.
var moderatorCommands = []moderatorCommand{
	{"help", "help", "this list", noArgs},
	{"pending", "pending", "the requests to join", noArgs},
	{"approve", "approve ACCOUNT", "let a request to join in", oneAccount},
	{"reject", "reject ACCOUNT", "turn a request to join down", oneAccount},
	{"remove", "remove URL [reason]", "take a shared post back from everywhere; its author is told, with the reason", urlAndMore},
	{"ban", "ban ACCOUNT [days] [reason]", "remove and block an account, for good or for some days", accountAndMore},
	{"unban", "unban ACCOUNT", "lift a ban", oneAccount},
	{"pin", "pin URL", "show a shared post on the group's profile", oneURL},
	{"unpin", "unpin URL", "take a post off the group's profile", oneURL},
	{"reports", "reports", "the open reports", noArgs},
	{"resolve", "resolve NUMBER", "close a report", oneNumber},
	{"release", "release URL", "share a post that waits for a moderator", oneURL},
	{"decline", "decline URL", "turn a post that waits for a moderator down", oneURL},
}

// commandNamed returns the command verb names.
func commandNamed(verb string) (moderatorCommand, bool) {
	for _, c := range moderatorCommands {
		if c.verb == verb {
			return c, true
		}
	}
	return moderatorCommand{}, false
}

// fits reports whether args have the command's shape. A member's message
// to a private group is a post unless it fits a command exactly: "help me,
// please" is not a command.
func (c moderatorCommand) fits(args []string) bool {
	switch c.shape {
	case noArgs:
		return len(args) == 0
	case oneAccount:
		return len(args) == 1 && looksLikeAccount(args[0])
	case accountAndMore:
		return len(args) >= 1 && looksLikeAccount(args[0])
	case oneURL:
		return len(args) == 1 && looksLikeURL(args[0])
	case urlAndMore:
		return len(args) >= 1 && looksLikeURL(args[0])
	case oneNumber:
		return len(args) == 1 && looksLikeNumber(args[0])
	}
	return false
}

func looksLikeNumber(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func looksLikeURL(s string) bool {
	_, err := activitypub.Host(s)
	return err == nil
}

// looksLikeAccount accepts what a moderator may write for an account:
// user@host, @user@host, @user (a mention, as Mastodon writes it), or an
// actor's address.
func looksLikeAccount(s string) bool {
	return looksLikeURL(s) || len(s) > 1 && strings.Contains(s, "@")
}

// namesAccount reports whether cmd is a command about an account.
func namesAccount(cmd command) bool {
	c, ok := commandNamed(cmd.verb)
	return ok && (c.shape == oneAccount || c.shape == accountAndMore) && c.fits(cmd.args)
}

// namedAccount is the account a moderator's command names, looked up
// before the transaction that carries the command out.
type namedAccount struct {
	actor storage.Actor
	err   error
}

// lookUpCommandAccount looks up the account a moderator's command in obj
// names, which for an account the instance has not met means asking its
// server: that cannot wait inside the transaction. Only a moderator's
// command is looked up, so that nobody else can make the instance fetch at
// will.
func (s *Service) lookUpCommandAccount(ctx context.Context, in inbound, obj *activitypub.Object) (namedAccount, error) {
	if obj.IsPublic() {
		return namedAccount{}, nil
	}
	cmd := parseCommand(obj.Content)
	if !namesAccount(cmd) {
		return namedAccount{}, nil
	}
	moderator := false
	err := s.store.View(ctx, func(tx *storage.Tx) error {
		for _, iri := range obj.Audiences() {
			g, ok, err := s.groupByIRI(tx, iri)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if moderator, err = tx.IsModerator(g.ID, in.actor.ID); err != nil || moderator {
				return err
			}
		}
		return nil
	})
	if err != nil || !moderator {
		return namedAccount{}, err
	}
	a, err := s.remote.ResolveAccount(ctx, mentioned(obj, cmd.args[0]))
	return namedAccount{actor: a, err: err}, nil
}

// mentioned reads an account argument. Mastodon shows a mention as @user
// alone, without the server; its Mention tag says which account it is.
func mentioned(obj *activitypub.Object, arg string) string {
	arg = strings.TrimRight(arg, ",.;:!?")
	if !strings.HasPrefix(arg, "@") || strings.Count(arg, "@") > 1 {
		return arg
	}
	for _, tag := range obj.Tag {
		if tag.Type == "Mention" && tag.Href != "" &&
			(strings.EqualFold(tag.Name, arg) || strings.HasPrefix(strings.ToLower(tag.Name), strings.ToLower(arg)+"@")) {
			return tag.Href
		}
	}
	return arg
}

// groupCommand handles a message to the group that is an instruction rather
// than a post: a member's anonymous post, an author's deletion of an
// anonymous post, a moderator's command. A moderator's direct message to
// the group is a command, unless it answers a post the group shares and
// is no command in form: that is a reply. Someone else's message in the
// form of a command gets one refusal at most. Any answer to one of the
// group's direct messages is dropped: such words were written for the
// group alone, and publishing them could name an anonymous author. It
// reports whether the message was one of these; anything else is a post.
func (s *Service) groupCommand(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) (bool, error) {
	if in.release != nil {
		// A moderator released it: it was a post when it came.
		return false, nil
	}
	if answered, err := s.takeAnswer(tx, g, in, obj); answered || err != nil {
		return true, err
	}
	cmd := parseCommand(obj.Content)
	if cmd.verb == anonymousMarker {
		return true, s.holdAnonymous(tx, g, in, obj)
	}
	if directTo(obj, s.iris.Group(g.Name)) {
		if cmd.verb == deleteMarker {
			return true, s.deleteByAuthor(tx, g, in.actor, obj)
		}
		moderator, err := tx.IsModerator(g.ID, in.actor.ID)
		if err != nil {
			return false, err
		}
		c, known := commandNamed(cmd.verb)
		fits := known && c.fits(cmd.args)
		switch {
		case moderator:
			reply, err := s.answersSharedPost(tx, g, obj.InReplyTo)
			if err != nil {
				return false, err
			}
			if fits || !reply {
				return true, s.obey(tx, g, in, obj, cmd)
			}
		case fits:
			return true, s.refuseCommand(tx, g, in.actor, cmd, obj.ID)
		}
	}
	answers, err := s.answersGroupMessage(tx, g, obj.InReplyTo)
	if err != nil || !answers {
		return false, err
	}
	s.log.Debug("dropped an answer to one of the group's direct messages", "group", g.Name, "object", obj.ID)
	return true, nil
}

// answersSharedPost reports whether parent is a post g shares.
func (s *Service) answersSharedPost(tx *storage.Tx, g storage.Group, parent string) (bool, error) {
	if parent == "" {
		return false, nil
	}
	_, err := sharedPost(tx, g, parent)
	if errors.Is(err, ErrNoSuchPost) {
		return false, nil
	}
	return err == nil, err
}

// answersGroupMessage reports whether parent is a direct message a group
// sent: a notice about a post, or any other note of g's that is not its
// copy of a post.
func (s *Service) answersGroupMessage(tx *storage.Tx, g storage.Group, parent string) (bool, error) {
	if parent == "" {
		return false, nil
	}
	if _, err := tx.NoticeByNote(parent); err == nil {
		return true, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	if !strings.HasPrefix(parent, s.iris.GroupNote(g.Name, "")) {
		return false, nil
	}
	_, err := tx.PostByCopy(parent)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	return false, err
}

// refuseCommand tells someone who is not a moderator, once, that the group
// takes commands from its moderators alone. Later commands get no answer,
// so that nobody can make the group send messages at will.
func (s *Service) refuseCommand(tx *storage.Tx, g storage.Group, person storage.Actor, cmd command, messageID string) error {
	first, err := tx.MarkRefused(g.ID, person.ID)
	if err != nil || !first {
		return err
	}
	s.log.Info("refused a command from someone who is not a moderator", "group", g.Name, "command", cmd.verb)
	_, err = s.tell(tx, g, person, "<p>Only the moderators of "+html.EscapeString(g.Name)+" can give it commands such as "+
		html.EscapeString(cmd.verb)+". Nothing was done, and your message was not shared. The group will not answer such messages again.</p>",
		messageID, 0)
	return err
}

// refusals are the errors a moderator is told of in plain words: the
// command could not be done as asked, and nothing changed.
var refusals = []error{ErrNotPending, ErrNotBanned, ErrNotHeld, ErrNoSuchPost, ErrPinLimit, ErrPinned, ErrNotPinned,
	ErrNoSuchReport, errBanDays}

func isRefusal(err error) bool {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// commandRequest is one command from a moderator of group g.
type commandRequest struct {
	g         storage.Group
	moderator storage.Actor
	cmd       command
	message   *activitypub.Object
	named     namedAccount
}

// obey carries out a moderator's command and answers it, as a reply to
// the command: what was done, or why not. An unknown command gets the help.
func (s *Service) obey(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object, cmd command) error {
	r := commandRequest{g: g, moderator: in.actor, cmd: cmd, message: obj, named: in.named}
	reply, err := s.runCommand(tx, r)
	if isRefusal(err) {
		// The error may quote the moderator's words back.
		reply, err = "<p>"+html.EscapeString(activitypub.WithoutControls(err.Error()))+". Nothing was changed.</p>", nil
	}
	if err != nil {
		return err
	}
	s.log.Info("moderator's command", "group", g.Name, "command", cmd.verb)
	_, err = s.tell(tx, g, in.actor, reply, obj.ID, 0)
	return err
}

// runCommand does what r asks and returns the answer, in HTML.
func (s *Service) runCommand(tx *storage.Tx, r commandRequest) (string, error) {
	c, known := commandNamed(r.cmd.verb)
	if !known || c.verb == "help" {
		return helpText(r.g), nil
	}
	if !c.fits(r.cmd.args) {
		return "<p>Send it as: " + html.EscapeString(c.usage) + " (" + html.EscapeString(c.summary) + ").</p>", nil
	}
	by, args, group := r.moderator.ID, r.cmd.args, html.EscapeString(r.g.Name)
	switch c.verb {
	case "pending":
		return pendingList(tx, r.g)
	case "approve", "reject", "ban", "unban":
		return s.runAccountCommand(tx, r)
	case "remove":
		reason := strings.Join(args[1:], " ")
		p, err := s.removePost(tx, r.g, args[0], reason, by)
		if err != nil {
			return "", err
		}
		told := "Its author was told, with your reason."
		if reason == "" {
			told = "Its author was told; you gave no reason."
		}
		return "<p>Removed " + html.EscapeString(address(p)) + " from " + group +
			": every server the group sent it to was told to take it down. " + told + "</p>", nil
	case "pin", "unpin":
		p, err := s.pin(tx, r.g, args[0], c.verb == "pin", by)
		if err != nil {
			return "", err
		}
		if c.verb == "pin" {
			return "<p>Pinned " + html.EscapeString(address(p)) + " to the profile of " + group + ".</p>", nil
		}
		return "<p>Unpinned " + html.EscapeString(address(p)) + ".</p>", nil
	case "reports":
		return reportList(tx, r.g)
	case "resolve":
		id, _ := strconv.ParseInt(args[0], 10, 64)
		if err := resolveReport(tx, r.g, id, by); err != nil {
			return "", err
		}
		return fmt.Sprintf("<p>Report %d is resolved.</p>", id), nil
	case "release":
		p, err := s.decideHeld(tx, r.g, args[0], true, by)
		if err != nil {
			return "", err
		}
		if !p.Anonymous {
			return "<p>Released " + html.EscapeString(args[0]) + ": the group shared it with its members, and told its author.</p>", nil
		}
		return "<p>Released " + html.EscapeString(args[0]) + ": the group published it without its author's name, and told them.</p>", nil
	case "decline":
		if _, err := s.decideHeld(tx, r.g, args[0], false, by); err != nil {
			return "", err
		}
		return "<p>Declined " + html.EscapeString(args[0]) + ". Its author was told.</p>", nil
	}
	return helpText(r.g), nil
}

// runAccountCommand does a command about an account: approve, reject,
// ban, unban.
func (s *Service) runAccountCommand(tx *storage.Tx, r commandRequest) (string, error) {
	a, by := r.named.actor, r.moderator.ID
	switch {
	case r.named.err != nil:
		return "<p>Could not find " + html.EscapeString(r.cmd.args[0]) + ": " + html.EscapeString(r.named.err.Error()) +
			". Write an account as name@server or as its address.</p>", nil
	case a.ID == "":
		return "<p>Could not look up " + html.EscapeString(r.cmd.args[0]) + " just now; send the command again.</p>", nil
	}
	name, group := html.EscapeString(accountName(a)), html.EscapeString(r.g.Name)
	var reply string
	switch r.cmd.verb {
	case "approve":
		if err := s.approve(tx, r.g, a, by); err != nil {
			return "", err
		}
		reply = "<p>" + name + " is now a member of " + group + ".</p>"
	case "reject":
		if err := s.reject(tx, r.g, a, by); err != nil {
			return "", err
		}
		reply = "<p>The request of " + name + " to join " + group + " was turned down.</p>"
	case "ban":
		terms, err := banTerms(r.cmd.args[1:])
		if err != nil {
			return "", err
		}
		if err := s.ban(tx, r.g, a, terms, by); err != nil {
			return "", err
		}
		how := "until a moderator lifts it"
		if terms.Days > 0 {
			how = fmt.Sprintf("for %d days, until %s", terms.Days, tx.Now().AddDate(0, 0, terms.Days).Format("2 January 2006 15:04 MST"))
		}
		reply = "<p>" + name + " is banned from " + group + ", " + how + ". Their server was sent a block from the group, " +
			"which names no moderator; their follows and posts are refused.</p>"
	case "unban":
		if err := s.unban(tx, r.g, a, by); err != nil {
			return "", err
		}
		reply = "<p>The ban of " + name + " is lifted; they may ask to join " + group + " again.</p>"
	}
	if r.message.Addresses(a.ID) {
		reply += "<p>Your message mentioned " + name + ", so their server was sent it too. Write an account without the leading @, as in " +
			name + ", and it stays between you and the group.</p>"
	}
	return reply, nil
}

// banLength matches a ban's length in days: 7, 7d or 7days.
var banLength = regexp.MustCompile(`(?i)^([0-9]{1,9})(?:d|days?)?$`)

// errBanDays is returned for a ban's length out of range.
var errBanDays = fmt.Errorf("a ban lasts 1 to %d days, or until it is lifted when no length is given", MaxBanDays)

// banTerms reads what follows the account in "ban ACCOUNT [days] [reason]".
func banTerms(args []string) (BanTerms, error) {
	var terms BanTerms
	if len(args) > 0 {
		if m := banLength.FindStringSubmatch(args[0]); m != nil {
			days, _ := strconv.Atoi(m[1])
			if days < 1 || days > MaxBanDays {
				return terms, errBanDays
			}
			terms.Days, args = days, args[1:]
		}
	}
	terms.Reason = strings.Join(args, " ")
	return terms, nil
}

// helpText lists the commands, one a line.
func helpText(g storage.Group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>Commands for the moderators of %s, sent to the group as a direct message:</p><p>", html.EscapeString(g.Name))
	for i, c := range moderatorCommands {
		if i > 0 {
			b.WriteString("<br>")
		}
		b.WriteString(html.EscapeString(c.usage + ": " + c.summary))
	}
	b.WriteString("</p><p>Write an account as name@server, without the leading @: with it, Mastodon sends your message to them too.</p>")
	return b.String()
}

// pendingListLimit bounds the requests to join listed in one message.
const pendingListLimit = 50

// pendingList answers "pending": the requests to join, oldest first, and
// the lines that answer them.
func pendingList(tx *storage.Tx, g storage.Group) (string, error) {
	pending, err := tx.Memberships(g.ID, storage.Pending)
	if err != nil {
		return "", err
	}
	if len(pending) == 0 {
		return "<p>Nobody is waiting to join " + html.EscapeString(g.Name) + ".</p>", nil
	}
	var who, lines []string
	for i, m := range pending {
		if i == pendingListLimit {
			who = append(who, fmt.Sprintf("and %d more", len(pending)-i))
			break
		}
		name, err := handleOf(tx, m.ActorID)
		if err != nil {
			return "", err
		}
		line := html.EscapeString(name) + ", since " + m.UpdatedAt.Format("2 January 2006")
		if m.Answer != "" {
			line += ", who answered: " + html.EscapeString(m.Answer)
		}
		who = append(who, line)
		lines = append(lines, "approve "+name, "reject "+name)
	}
	return "<p>Waiting to join " + html.EscapeString(g.Name) + ", oldest first:<br>" + strings.Join(who, "<br>") + "</p>" +
		"<p>To answer, send one of these lines:</p>" + commandLines(lines...), nil
}

// reportList answers "reports": the open reports, oldest first.
func reportList(tx *storage.Tx, g storage.Group) (string, error) {
	reports, err := openReports(tx, g)
	if err != nil {
		return "", err
	}
	if len(reports) == 0 {
		return "<p>No report about " + html.EscapeString(g.Name) + " is open.</p>", nil
	}
	var b strings.Builder
	var lines []string
	for _, e := range reports {
		fmt.Fprintf(&b, "<p>Report %d, from %s", e.ID, html.EscapeString(e.From))
		if e.Reports > 1 {
			fmt.Fprintf(&b, " (%d reports)", e.Reports)
		}
		fmt.Fprintf(&b, ", %s:</p>%s", e.Received.Format("2 January 2006"), describeReport(e))
		lines = append(lines, reportCommands(e)...)
	}
	b.WriteString("<p>To act on them, send one of these lines:</p>")
	b.WriteString(commandLines(lines...))
	return b.String(), nil
}
