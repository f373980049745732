package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// ErrNotModerator is returned when removing an account that does not
// moderate the group.
var ErrNotModerator = errors.New("is not a moderator of the group")

// AddModerator makes a remote account a moderator of the group. It is then
// listed in the moderators collection, where Lemmy looks, and may act on
// held posts by direct message.
func (s *Service) AddModerator(ctx context.Context, group, account string) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		return tx.AddModerator(g.ID, a.ID)
	})
}

// RemoveModerator takes the role away from an account.
func (s *Service) RemoveModerator(ctx context.Context, group, account string) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		err := tx.RemoveModerator(g.ID, a.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%s %w", accountHandle(a), ErrNotModerator)
		}
		return err
	})
}

// Moderators lists the group's moderators with what is known of each.
func (s *Service) Moderators(ctx context.Context, group string) ([]storage.Actor, error) {
	var out []storage.Actor
	err := s.store.View(ctx, func(tx *storage.Tx) error {
		g, err := namedGroup(tx, group)
		if err != nil {
			return err
		}
		ids, err := tx.Moderators(g.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, err := tx.Actor(id)
			if errors.Is(err, storage.ErrNotFound) {
				a, err = storage.Actor{ID: id}, nil
			}
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// inGroup runs fn in a write transaction with the group called name, and
// wakes the delivery workers for whatever fn queued.
func (s *Service) inGroup(ctx context.Context, name string, fn func(*storage.Tx, storage.Group) error) error {
	err := s.store.Update(ctx, func(tx *storage.Tx) error {
		g, err := namedGroup(tx, name)
		if err != nil {
			return err
		}
		return fn(tx, g)
	})
	if err == nil {
		s.deliveries.Wake()
	}
	return err
}

// namedGroup loads a group for an administrator's command.
func namedGroup(tx *storage.Tx, name string) (storage.Group, error) {
	g, err := tx.GroupByName(name)
	if errors.Is(err, storage.ErrNotFound) {
		return g, fmt.Errorf("%q: %w", name, ErrNoSuchGroup)
	}
	return g, err
}

// command is a direct message to the group read as an instruction: its
// first word after the mentions, and the words after that.
type command struct {
	verb string
	args []string
}

// parseCommand reads the plain text of a message, skipping the mentions it
// starts with, as Mastodon puts the addressees first.
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

// directTo reports whether obj is a direct message to group: not public,
// and addressed to no collection, only to actors it mentions, the group
// among them.
func directTo(obj *activitypub.Object, group string) bool {
	if obj.IsPublic() || !obj.Addresses(group) {
		return false
	}
	for _, iri := range obj.Audiences() {
		if iri != group && !obj.Mentions(iri) {
			return false
		}
	}
	return true
}

// addressedToAlone reports whether obj is addressed to group and to nobody
// else: no person, no collection.
func addressedToAlone(obj *activitypub.Object, group string) bool {
	addressed := false
	for _, list := range [][]string{obj.To, obj.CC, obj.BTo, obj.BCC} {
		for _, iri := range list {
			if iri != group {
				return false
			}
			addressed = true
		}
	}
	return addressed
}

// groupCommand handles a message to the group that is an instruction rather
// than a post: a member's anonymous post, a moderator's release or decline
// of a held post, an author's deletion of an anonymous post. A command from
// someone it is not for, and any answer to one of the group's direct
// messages, is dropped: such words were written for the group alone, and
// publishing them could name an anonymous author. It reports whether the
// message was one of these; anything else is a post.
func (s *Service) groupCommand(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) (bool, error) {
	cmd := parseCommand(obj.Content)
	if cmd.verb == anonymousMarker {
		return true, s.holdAnonymous(tx, g, in, obj)
	}
	if directTo(obj, s.iris.Group(g.Name)) {
		switch cmd.verb {
		case "release", "decline":
			moderator, err := tx.IsModerator(g.ID, in.actor.ID)
			if err != nil {
				return false, err
			}
			if !moderator {
				s.log.Debug("dropped a moderator's command from someone who is not one", "group", g.Name, "object", obj.ID)
				return true, nil
			}
			return true, s.moderatorDecision(tx, g, in.actor, cmd, obj.ID)
		case deleteMarker:
			return true, s.deleteByAuthor(tx, g, in.actor, obj)
		}
	}
	answers, err := s.answersGroupMessage(tx, g, obj.InReplyTo)
	if err != nil || !answers {
		return false, err
	}
	s.log.Debug("dropped an answer to one of the group's direct messages", "group", g.Name, "object", obj.ID)
	return true, nil
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

// moderatorDecision applies a moderator's "release URL" or "decline URL"
// and answers them when it cannot.
func (s *Service) moderatorDecision(tx *storage.Tx, g storage.Group, moderator storage.Actor, cmd command, messageID string) error {
	if len(cmd.args) == 0 {
		_, err := s.tell(tx, g, moderator, "<p>Which post? Send "+cmd.verb+" followed by the post's address.</p>", messageID, 0)
		return err
	}
	err := s.decideHeld(tx, g, cmd.args[0], cmd.verb == "release")
	if errors.Is(err, ErrNotHeld) {
		_, err = s.tell(tx, g, moderator, "<p>"+html.EscapeString(err.Error())+".</p>", messageID, 0)
	}
	return err
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
	who := accountHandle(person)
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
