package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// An anonymous post is a member's direct message to the group that starts
// with anonymousMarker. It waits for a moderator, who is told who wrote it;
// once released, the group publishes it as its own note, and nothing the
// group sends, serves, shows or logs at info level names the author. Only
// the post's row in storage keeps the link, for the moderators.

const (
	anonymousMarker = "!anon"
	deleteMarker    = "!delete"
)

// anonymousWaitLimit is how many posts a member may have waiting for the
// moderators and still send an anonymous one: each tells every moderator,
// and the moderators must not be flooded under the cover of anonymity.
const anonymousWaitLimit = 3

// heldListLimit bounds the list of held posts shown to an administrator.
const heldListLimit = 500

// ErrNotHeld is returned when releasing or declining a post that does not
// wait for a moderator.
var ErrNotHeld = errors.New("no post waits for a moderator at this address")

// holdAnonymous stores a member's anonymous post for the moderators and
// tells each of them, with the author's handle and the commands to answer.
func (s *Service) holdAnonymous(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) error {
	allowed, err := mayPost(tx, g, in.actor.ID)
	if err != nil {
		return err
	}
	if !allowed {
		s.log.Info("anonymous post refused: the sender may not post in this group", "group", g.Name)
		return nil
	}
	if !directTo(obj, s.iris.Group(g.Name)) {
		// Its author's own server has already shown it with their name;
		// relaying it under the group's would not make it anonymous.
		s.log.Info("anonymous post dropped: it was not a direct message to the group", "group", g.Name)
		return nil
	}
	if !addressedToAlone(obj, s.iris.Group(g.Name)) {
		// Whoever else it was addressed to has seen it with the
		// author's name.
		_, err := s.tell(tx, g, in.actor, "<p>Your anonymous post was not shared: the others you sent it to saw your name. "+
			"An anonymous post must be a direct message to the group alone, mentioning nobody else.</p>", obj.ID, 0)
		return err
	}
	if !g.AnonymousPosts {
		_, err := s.tell(tx, g, in.actor, "<p>This group does not take anonymous posts, so yours was not shared.</p>", obj.ID, 0)
		return err
	}
	waiting, err := tx.CountHeldPostsBy(g.ID, in.actor.ID)
	if err != nil {
		return err
	}
	if waiting >= anonymousWaitLimit {
		s.log.Info("anonymous post refused: its author has posts waiting for a moderator already", "group", g.Name)
		_, err := s.tell(tx, g, in.actor, fmt.Sprintf("<p>You have %d posts waiting for the moderators, so this one was not kept. "+
			"Send it again once they have decided on those.</p>", waiting), obj.ID, 0)
		return err
	}
	post := receivedPost(g, in, obj, storage.Held)
	post.CopyID = s.iris.GroupNote(g.Name, activitypub.NewToken())
	post.Anonymous = true
	// The group publishes the warning and the words as its own.
	post.Summary = activitypub.WithoutControls(post.Summary)
	post.Content = anonymousContent(obj.Content)
	if post.Content == "" {
		_, err := s.tell(tx, g, in.actor, "<p>Your anonymous post was empty, so there was nothing to share.</p>", obj.ID, 0)
		return err
	}
	if fresh, err := storeNewPost(tx, post); err != nil || !fresh {
		return err
	}
	told, err := s.tellModerators(tx, g, heldNotice(g, *post, in.actor), post.ID)
	if err != nil {
		return err
	}
	s.log.Info("anonymous post held for a moderator", "group", g.Name, "post", post.CopyID, "moderators_told", told)
	return nil
}

// heldNotice is what the moderators are told of a held post: who wrote
// it, what it says, and the two lines that act on it.
func heldNotice(g storage.Group, p storage.Post, author storage.Actor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>An anonymous post waits for a moderator in %s. It was written by %s; only the moderators are told.</p>",
		html.EscapeString(g.Name), html.EscapeString(accountName(author)))
	if p.Summary != "" {
		fmt.Fprintf(&b, "<p>Content warning: %s</p>", html.EscapeString(p.Summary))
	}
	fmt.Fprintf(&b, "<blockquote>%s</blockquote>", p.Content)
	b.WriteString("<p>To publish it as the group, without their name, or to turn it down, send the group one of these lines as a direct message:</p>")
	b.WriteString(commandLines("release "+p.CopyID, "decline "+p.CopyID))
	return b.String()
}

// paragraphEnd and lineBreak split post HTML where its author broke lines.
var (
	paragraphEnd = regexp.MustCompile(`(?i)</p\s*>`)
	lineBreak    = regexp.MustCompile(`(?i)<br\s*/?>`)
)

// anonymousContent rewrites an anonymous post as plain paragraphs, without
// the mentions and the marker it starts with. All markup goes: the links
// Mastodon writes for mentions, hashtags and media point at the author's
// server and would give them away. Control and bidirectional formatting
// characters go too, even those written as character references: in the
// group's own notes they could reorder or hide the words around them.
func anonymousContent(content string) string {
	var paragraphs []string
	leading := true
	for _, para := range paragraphEnd.Split(content, -1) {
		var lines []string
		for _, line := range lineBreak.Split(para, -1) {
			text := activitypub.WithoutControls(activitypub.PlainText(line))
			if leading {
				text = withoutMarker(text)
			}
			if text != "" {
				leading = false
				lines = append(lines, text)
			}
		}
		if len(lines) > 0 {
			paragraphs = append(paragraphs, strings.Join(lines, "\n"))
		}
	}
	return activitypub.TextToHTML(strings.Join(paragraphs, "\n\n"))
}

// withoutMarker drops the mentions a message starts with and the marker
// after them.
func withoutMarker(text string) string {
	words := strings.Fields(text)
	for len(words) > 0 && strings.HasPrefix(words[0], "@") {
		words = words[1:]
	}
	if len(words) > 0 && strings.EqualFold(words[0], anonymousMarker) {
		words = words[1:]
	}
	return strings.Join(words, " ")
}

// decideHeld releases or declines the held post whose address is url, for
// a moderator (by), and tells its author.
func (s *Service) decideHeld(tx *storage.Tx, g storage.Group, url string, release bool, by string) (storage.Post, error) {
	p, err := heldPost(tx, g, url)
	if err != nil {
		return p, err
	}
	if !release {
		return p, s.declineHeld(tx, g, p, by)
	}
	author, err := heldAuthor(tx, p)
	if err != nil {
		return p, err
	}
	if !p.Anonymous {
		if err := s.releaseHeld(tx, g, p, author); err != nil {
			return p, err
		}
		if err := logAction(tx, g, by, "release", heldAddress(p), ""); err != nil {
			return p, err
		}
		s.log.Info("held post released", "group", g.Name)
		s.log.Debug("held post released", "group", g.Name, "post", heldAddress(p))
		_, err = s.tell(tx, g, author, "<p>A moderator of "+html.EscapeString(g.Name)+
			" shared your post with the members.</p>", p.ObjectID, p.ID)
		return p, err
	}
	note, err := s.groupNote(tx, g, p, tx.Now())
	if err != nil {
		return p, err
	}
	p.State = storage.Relayed
	if err := tx.UpdatePost(&p); err != nil {
		return p, err
	}
	if err := s.publish(tx, g, p.ID, activitypub.NewCreate(s.newActivityID(g), note)); err != nil {
		return p, err
	}
	if err := logAction(tx, g, by, "release", p.CopyID, ""); err != nil {
		return p, err
	}
	s.log.Info("anonymous post released", "group", g.Name, "post", p.CopyID)
	_, err = s.tell(tx, g, author, "<p>Your anonymous post was published in "+html.EscapeString(g.Name)+
		" without your name: "+html.EscapeString(p.CopyID)+"</p><p>To delete it, reply to this message with "+
		deleteMarker+".</p>", p.ObjectID, p.ID)
	return p, err
}

// declineHeld turns down the held post p, for a moderator (by) or because
// nobody decided in time, erases it, and tells its author.
func (s *Service) declineHeld(tx *storage.Tx, g storage.Group, p storage.Post, by string) error {
	author, err := heldAuthor(tx, p)
	if err != nil {
		return err
	}
	address := heldAddress(p)
	if err := tx.ErasePost(&p, storage.Declined); err != nil {
		return err
	}
	if err := logAction(tx, g, by, "decline", address, ""); err != nil {
		return err
	}
	s.log.Info("held post declined", "group", g.Name)
	s.log.Debug("held post declined", "group", g.Name, "post", address, "by", by)
	what := "your post"
	if p.Anonymous {
		what = "your anonymous post"
	}
	who := "A moderator of " + html.EscapeString(g.Name) + " decided not to publish " + what + "."
	if by == byExpiry {
		who = "No moderator of " + html.EscapeString(g.Name) + " decided on " + what + " within 14 days, so it was not published."
	}
	_, err = s.tell(tx, g, author, "<p>"+who+" Nobody else saw it.</p>", p.ObjectID, p.ID)
	return err
}

// heldAuthor is the author of a held post. One who deleted their account
// is known by their id alone: the post stands or falls on its own, and
// there is nobody to tell.
func heldAuthor(tx *storage.Tx, p storage.Post) (storage.Actor, error) {
	return knownActor(tx, p.AuthorID)
}

// knownActor is what is known of the actor id: its cached row, or only its
// id when the account was deleted (or never fetched), so that lists and
// decisions about it go on without it.
func knownActor(tx *storage.Tx, id string) (storage.Actor, error) {
	a, err := tx.Actor(id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Actor{ID: id}, nil
	}
	return a, err
}

// deleteByAuthor deletes an anonymous post when its author answers one of
// the group's notices about it with the delete marker.
func (s *Service) deleteByAuthor(tx *storage.Tx, g storage.Group, author storage.Actor, obj *activitypub.Object) error {
	notice, err := tx.NoticeByNote(obj.InReplyTo)
	var p storage.Post
	if err == nil && notice.GroupID == g.ID {
		p, err = tx.PostByID(notice.PostID)
	}
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && (notice.GroupID != g.ID || p.AuthorID != author.ID):
		// Explained once per person, like a refused command: anyone may
		// send this, and must not make the group send messages at will.
		first, err := tx.MarkRefused(g.ID, author.ID)
		if err != nil || !first {
			return err
		}
		_, err = s.tell(tx, g, author, "<p>To delete an anonymous post, reply "+deleteMarker+
			" to the message that told you it was published.</p>", obj.ID, 0)
		return err
	case err != nil:
		return err
	}
	switch p.State {
	case storage.Relayed:
		err = s.deleteCopy(tx, p)
	case storage.Held:
		err = withdrawHeld(tx, p)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("anonymous post deleted by its author", "group", g.Name, "post", p.CopyID)
	_, err = s.tell(tx, g, author, "<p>Your anonymous post was deleted.</p>", obj.ID, p.ID)
	return err
}

// dropHeld withdraws the posts of objectID by author that still wait for a
// moderator: an author who deletes the message has changed their mind.
func dropHeld(tx *storage.Tx, objectID, author string) error {
	posts, err := tx.PostsOfObject(objectID)
	if err != nil {
		return err
	}
	for _, p := range posts {
		if p.State != storage.Held || p.AuthorID != author {
			continue
		}
		if err := withdrawHeld(tx, p); err != nil {
			return err
		}
	}
	return nil
}

// withdrawHeld removes a post its author took back before a moderator
// decided, and erases it with the moderators' notices about it.
func withdrawHeld(tx *storage.Tx, p storage.Post) error {
	return tx.ErasePost(&p, storage.Removed)
}

// HeldPost is a post waiting for a moderator, as the moderators see it:
// with its author, and why it waits ("" for an anonymous post).
type HeldPost struct {
	URL      string
	Author   storage.Actor
	Reason   string
	Summary  string
	Text     string
	Received time.Time
}

// HeldPosts lists the group's posts waiting for a moderator, newest first.
func (s *Service) HeldPosts(ctx context.Context, group string) ([]HeldPost, error) {
	var out []HeldPost
	_, err := s.viewGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		posts, err := tx.Posts(g.ID, storage.Held, heldListLimit)
		if err != nil {
			return err
		}
		for _, p := range posts {
			author, err := knownActor(tx, p.AuthorID)
			if err != nil {
				return err
			}
			out = append(out, HeldPost{URL: heldAddress(p), Author: author, Reason: p.HoldReason, Summary: p.Summary,
				Text: activitypub.PlainText(p.Content), Received: p.CreatedAt})
		}
		return nil
	})
	return out, err
}

// ReleasePost publishes a held post, as a moderator's "release" message
// does.
func (s *Service) ReleasePost(ctx context.Context, group, url string) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		_, err := s.decideHeld(tx, g, url, true, byAdmin)
		return err
	})
}

// DeclinePost turns a held post down and tells its author.
func (s *Service) DeclinePost(ctx context.Context, group, url string) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		_, err := s.decideHeld(tx, g, url, false, byAdmin)
		return err
	})
}
