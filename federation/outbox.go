package federation

import (
	"encoding/json"
	"errors"
	"html"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// send stores an activity the group sends and queues it for inboxes, inside
// the caller's transaction. Inboxes on servers the instance does not
// federate with (blocked since their members joined) are left out.
func (s *Service) send(tx *storage.Tx, g storage.Group, a *activitypub.Activity, postID int64, inOutbox bool, inboxes []string) error {
	body, err := activitypub.Marshal(a)
	if err != nil {
		return err
	}
	allowed := inboxes[:0:0]
	for _, inbox := range inboxes {
		if host, err := activitypub.Host(inbox); err == nil && s.federates(host) {
			allowed = append(allowed, inbox)
		}
	}
	return tx.Enqueue(storage.Activity{ID: a.ID, GroupID: g.ID, PostID: postID, Type: a.Type, InOutbox: inOutbox, Body: body}, allowed)
}

// newActivityID mints the id of an activity group g sends.
func (s *Service) newActivityID(g storage.Group) string {
	return s.iris.GroupActivity(g.Name, activitypub.NewToken())
}

// Servers that show a relayed post only as a boost of the note: they get
// the boost alone, which halves the signing work for them. (They would
// fetch the wrapped Create's id and find another server's activity.)
var boostOnly = map[string]bool{
	"mastodon": true, "hometown": true, "glitch-soc": true, "fedibird": true,
	"misskey": true, "sharkey": true, "iceshrimp": true, "firefish": true, "catodon": true,
	"pleroma": true, "akkoma": true, "gotosocial": true,
}

// Group-aware servers read the FEP-1b12 Announce of the activity and
// refuse or ignore the bare boost: they get the wrapped form alone.
var wrappedOnly = map[string]bool{
	"lemmy": true, "mbin": true, "kbin": true, "piefed": true, "lotide": true,
}

// form names the members' servers an activity for the whole group goes to,
// by the form of Announce their software reads (see memberTurn).
type form string

const (
	// everyServer: every member's server.
	everyServer form = "all"
	// boostReaders: every server but the group-aware ones.
	boostReaders form = "boost"
	// wrappedReaders: every server but those that show boosts alone.
	wrappedReaders form = "wrapped"
	// wrappedAfterBoost: as wrappedReaders, for an activity whose boost
	// goes out too. A server that gets both, because its software is
	// unknown, gets this one after every server has had its first form.
	wrappedAfterBoost form = "wrapped-after-boost"
)

// sendToMembers stores an activity the group sends to all its members and
// queues it, inside the caller's transaction, for the members' servers that
// f names. The delivery engine finds those servers later, in batches (see
// memberTurn), so that what a request costs does not grow with the group.
// The inboxes in also, outside the roster, are queued at once, those of
// them that f names.
func (s *Service) sendToMembers(tx *storage.Tx, g storage.Group, a *activitypub.Activity, postID int64, inOutbox bool, f form, also ...string) error {
	body, err := activitypub.Marshal(a)
	if err != nil {
		return err
	}
	var extra []string
	for _, inbox := range also {
		host, err := activitypub.Host(inbox)
		if err != nil {
			continue
		}
		software, _, err := tx.HostSoftware(host)
		if err != nil {
			return err
		}
		if s.memberTurn(string(f), storage.Target{Inbox: inbox, Host: host, Software: software}) != storage.Skip {
			extra = append(extra, inbox)
		}
	}
	return tx.QueueFanOut(storage.Activity{ID: a.ID, GroupID: g.ID, PostID: postID, Type: a.Type, InOutbox: inOutbox, Body: body}, string(f), extra...)
}

// memberTurn is the delivery engine's audience for sendToMembers: whether a
// member's server gets an activity sent to form f, and when. Servers the
// instance does not federate with (blocked since their members joined) are
// left out.
func (s *Service) memberTurn(f string, t storage.Target) storage.Turn {
	if !s.federates(t.Host) {
		return storage.Skip
	}
	switch form(f) {
	case boostReaders:
		if wrappedOnly[t.Software] {
			return storage.Skip
		}
	case wrappedReaders:
		if boostOnly[t.Software] {
			return storage.Skip
		}
	case wrappedAfterBoost:
		switch {
		case boostOnly[t.Software]:
			return storage.Skip
		case !wrappedOnly[t.Software]:
			return storage.Second
		}
	}
	return storage.First
}

// announceToMembers sends the FEP-1b12 Announce of a received activity to
// the members of the post's group. The activity goes out as received (see
// wrappedAnnounce), so one that names blind recipients (bto, bcc) is not
// passed on at all: it would show everyone whom its author copied blind.
func (s *Service) announceToMembers(tx *storage.Tx, p storage.Post, activity *activitypub.Object, author string, inOutbox bool) error {
	if blindCopies(activity) {
		return nil
	}
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	a, err := s.wrappedAnnounce(g, activity, author, tx.Now())
	if err != nil {
		return err
	}
	return s.sendToMembers(tx, g, a, p.ID, inOutbox, wrappedReaders)
}

// wrappedAnnounce is the group's FEP-1b12 Announce of a member's activity,
// embedded as received except for the objects of other servers in it,
// which are reduced to their ids: the member's signature vouches for its
// own server's objects only, and the group's must not vouch for more.
func (s *Service) wrappedAnnounce(g storage.Group, activity *activitypub.Object, author string, now time.Time) (*activitypub.Activity, error) {
	passed, err := activitypub.WithoutForeignObjects(activity.Raw, author)
	if err != nil {
		return nil, err
	}
	return activitypub.NewAnnounce(s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name), now,
		json.RawMessage(passed), author), nil
}

// publish sends an activity about the group's note to every member's
// server and lists it in the outbox, which only members may page through
// when the group is private.
func (s *Service) publish(tx *storage.Tx, g storage.Group, postID int64, a *activitypub.Activity) error {
	return s.sendToMembers(tx, g, a, postID, a.Type != "Delete", everyServer)
}

// tell sends one person a direct message from the group: a note addressed
// to them alone that mentions them, after which body (HTML) follows. A
// message about a post is recorded as a notice, so that a reply to it can
// act on the post. Someone without a known inbox, such as an account that
// was deleted, is not told. It returns the note's id, or "" when nothing
// was sent.
func (s *Service) tell(tx *storage.Tx, g storage.Group, person storage.Actor, body, inReplyTo string, postID int64) (string, error) {
	if person.Inbox == "" {
		s.log.Debug("cannot message someone without a known inbox", "group", g.Name, "person", person.ID)
		return "", nil
	}
	who := shownHandle(person)
	note := activitypub.NewNote(s.iris.GroupNote(g.Name, activitypub.NewToken()), s.iris.Group(g.Name), tx.Now())
	note.To = []string{person.ID}
	note.InReplyTo = inReplyTo
	note.Content = "<p>" + activitypub.MentionLink(person.ID, who) + "</p>" + body
	note.Tag = []activitypub.NoteTag{activitypub.Mention(person.ID, who)}
	create := activitypub.NewCreate(s.newActivityID(g), note)
	if err := s.send(tx, g, create, postID, false, []string{person.DeliveryInbox()}); err != nil {
		return "", err
	}
	if postID == 0 {
		return note.ID, nil
	}
	return note.ID, tx.AddNotice(storage.Notice{NoteID: note.ID, GroupID: g.ID, PostID: postID,
		Recipient: person.ID, ActivityID: create.ID})
}

// shownHandle is an actor's handle as the group writes it in its own notes.
// Its username was checked when the actor was fetched, but its id, which
// stands in for a handle when it has none, and its host may still hold
// control or bidirectional formatting characters: the handle, and the
// group's words after it, would read as something else.
func shownHandle(a storage.Actor) string {
	return activitypub.WithoutControls(a.Handle())
}

// tellModerators sends every moderator of g the same direct message, about
// the post postID if it is not 0, and returns how many were told.
func (s *Service) tellModerators(tx *storage.Tx, g storage.Group, body string, postID int64) (int, error) {
	moderators, err := tx.Moderators(g.ID)
	if err != nil {
		return 0, err
	}
	told := 0
	for _, id := range moderators {
		moderator, err := tx.Actor(id)
		if errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("cannot tell a moderator who was never fetched", "group", g.Name, "moderator", id)
			continue
		}
		if err != nil {
			return told, err
		}
		if _, err := s.tell(tx, g, moderator, body, "", postID); err != nil {
			return told, err
		}
		told++
	}
	return told, nil
}

// commandLines ends a message to moderators with the exact commands they
// may send back, one per line, so that each can be copied whole.
func commandLines(lines ...string) string {
	escaped := make([]string, len(lines))
	for i, line := range lines {
		escaped[i] = html.EscapeString(line)
	}
	return "<p>" + strings.Join(escaped, "<br>") + "</p>"
}

// aboutItself is an activity of kind typ by the group about its own actor,
// addressed publicly and to its followers.
func (s *Service) aboutItself(g storage.Group, typ string, object any) *activitypub.Activity {
	return &activitypub.Activity{
		Context: activitypub.ActivityStreamsContext,
		ID:      s.newActivityID(g),
		Type:    typ,
		Actor:   s.iris.Group(g.Name),
		To:      []string{activitypub.Public},
		CC:      []string{s.iris.GroupFollowers(g.Name)},
		Object:  object,
	}
}

// answerFollow queues an Accept or Reject of a Follow to the follower alone.
// Roster changes go to nobody else.
func (s *Service) answerFollow(tx *storage.Tx, g storage.Group, follower storage.Actor, followID, answer string) error {
	a := activitypub.NewFollowAnswer(answer, s.newActivityID(g), s.iris.Group(g.Name), follower.ID, followID)
	return s.send(tx, g, a, 0, false, []string{follower.Inbox})
}
