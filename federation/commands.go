package federation

import (
	"errors"
	"html"
	"strings"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

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
		// The error quotes the moderator's words back.
		_, err = s.tell(tx, g, moderator, "<p>"+html.EscapeString(activitypub.WithoutControls(err.Error()))+".</p>", messageID, 0)
	}
	return err
}
