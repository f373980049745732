package federation

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// A private group cannot boost its members' posts: Mastodon shows a boost
// only of a public or unlisted post, and the posts of a private group are
// neither. So the group writes its own copy of each post, addressed to its
// Followers collection alone, which Mastodon shows its members as a
// followers-only post of the group. The member's own post stays where it
// was; only storage links the two.

// relayPrivate publishes the group's copy of a member's post to the members.
func (s *Service) relayPrivate(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) error {
	meant, err := s.meantForMembers(tx, g, in.actor, obj)
	if err != nil {
		return err
	}
	if !meant {
		s.log.Debug("not relayed: a direct message to others besides the group", "group", g.Name, "object", obj.ID)
		return nil
	}
	post := receivedPost(g, in, obj, storage.Relayed)
	post.CopyID = s.iris.GroupNote(g.Name, activitypub.NewToken())
	if relay, err := s.admitPost(tx, g, in, obj, post); err != nil || !relay {
		return err
	}
	note, err := s.memberCopy(tx, g, *post, obj, in.actor)
	if err != nil {
		return err
	}
	if err := s.publish(tx, g, post.ID, activitypub.NewCreate(s.newActivityID(g), note)); err != nil {
		return err
	}
	s.log.Info("published the group's copy of a post", "group", g.Name, "copy", note.ID)
	s.log.Debug("copy of", "object", obj.ID, "author", in.actor.ID)
	return nil
}

// memberCopy is the group's note for a member's post: the member credited
// and mentioned above the sanitized content, the group mentioned so that
// replies come back to it, and the thread mapped onto the group's copies.
func (s *Service) memberCopy(tx *storage.Tx, g storage.Group, p storage.Post, obj *activitypub.Object, author storage.Actor) (*activitypub.Note, error) {
	note, err := s.groupNote(tx, g, p, tx.Now())
	if err != nil {
		return nil, err
	}
	who := shownHandle(author)
	note.Content = "<p>" + activitypub.MentionLink(author.ID, who) + " wrote:</p>" + p.Content
	note.Tag = append([]activitypub.NoteTag{activitypub.Mention(author.ID, who)}, note.Tag...)
	note.Attachment = activitypub.AttachmentsByReference(obj.Attachment)
	if obj.Sensitive {
		// Sensitive media without a written warning stays hidden too.
		note.Sensitive = true
	}
	return note, nil
}

// groupNote is the part of the group's note for p that does not depend on
// who wrote it: audience, thread, warning, content, and the group's own
// mention.
func (s *Service) groupNote(tx *storage.Tx, g storage.Group, p storage.Post, published time.Time) (*activitypub.Note, error) {
	group, followers := s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name)
	note := activitypub.NewNote(p.CopyID, group, published)
	if g.Visibility == storage.Private {
		note.To = []string{followers}
	} else {
		note.To, note.CC = []string{activitypub.Public}, []string{followers}
	}
	note.Audience = group
	var err error
	if note.InReplyTo, note.Thread, err = s.threadOf(tx, g, p.InReplyTo, p.CopyID); err != nil {
		return nil, err
	}
	note.SetWarning(groupWarning(g.ContentWarning, p.Summary))
	note.Content = p.Content
	note.Tag = []activitypub.NoteTag{activitypub.Mention(group, g.Name+"@"+s.iris.Host())}
	return note, nil
}

// groupWarning applies the group's content-warning policy to a post's own
// warning: a post without one gets the group's, and a post with one gets
// the group's in front of it.
func groupWarning(group, own string) string {
	switch {
	case group == "":
		return own
	case own == "", strings.EqualFold(own, group):
		return group
	case strings.HasPrefix(strings.ToLower(own), strings.ToLower(group)+":"):
		return own
	}
	return group + ": " + own
}

// threadOf maps the object a post answers to the group's copy of it, and
// names the thread: the thread of that copy, or for a post that starts one,
// the post's own copy. A public post the group boosted has no copy: an
// answer to it answers the post itself, in a thread the group cannot name.
// A parent the group did not relay is dropped rather than pointing members
// at a post outside the group.
func (s *Service) threadOf(tx *storage.Tx, g storage.Group, parent, self string) (inReplyTo, thread string, err error) {
	if parent == "" {
		return "", self, nil
	}
	p, err := tx.PostByCopy(parent)
	if errors.Is(err, storage.ErrNotFound) || err == nil && p.GroupID != g.ID {
		p, err = tx.PostByObject(g.ID, parent)
	}
	if errors.Is(err, storage.ErrNotFound) || err == nil && p.State != storage.Relayed {
		return "", self, nil
	}
	if err != nil {
		return "", "", err
	}
	if p.CopyID == "" {
		return p.ObjectID, "", nil
	}
	parentNote, err := currentNote(tx, p)
	if err != nil {
		return "", "", err
	}
	if parentNote.Thread == "" {
		return p.CopyID, p.CopyID, nil
	}
	return p.CopyID, parentNote.Thread, nil
}

// currentNote is the latest version of the group's copy of p, as last sent
// in a Create or Update.
func currentNote(tx *storage.Tx, p storage.Post) (*activitypub.Note, error) {
	sent, err := tx.ActivitiesOfPost(p.ID)
	if err != nil {
		return nil, err
	}
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Type != "Create" && sent[i].Type != "Update" {
			continue
		}
		note, err := noteOf(sent[i].Body)
		if err != nil {
			return nil, err
		}
		if note.ID == p.CopyID {
			return note, nil
		}
	}
	return nil, storage.ErrNotFound
}

// noteOf reads the note a Create or Update the group sent carries.
func noteOf(body []byte) (*activitypub.Note, error) {
	var activity struct {
		Object *activitypub.Note `json:"object"`
	}
	if err := json.Unmarshal(body, &activity); err != nil {
		return nil, err
	}
	if activity.Object == nil {
		return nil, errors.New("activity carries no note")
	}
	return activity.Object, nil
}

// updateCopy carries an author's edit over to the group's copy.
func (s *Service) updateCopy(tx *storage.Tx, p storage.Post, obj *activitypub.Object, author storage.Actor) error {
	if p.Anonymous {
		// A moderator approved the words as they were; an edit would
		// publish words nobody approved.
		return nil
	}
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	previous, err := currentNote(tx, p)
	if err != nil {
		return err
	}
	p.Summary = activitypub.PlainText(obj.Summary)
	p.Content = activitypub.SanitizeHTML(obj.Content)
	if err := tx.UpdatePost(&p); err != nil {
		return err
	}
	note, err := s.memberCopy(tx, g, p, obj, author)
	if err != nil {
		return err
	}
	note.Published, note.Updated = previous.Published, activitypub.Timestamp(tx.Now())
	return s.publish(tx, g, p.ID, activitypub.NewUpdate(s.newActivityID(g), note))
}

// deleteCopy removes the group's copy of a post and tells the members'
// servers to delete it.
func (s *Service) deleteCopy(tx *storage.Tx, p storage.Post) error {
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	note, err := currentNote(tx, p)
	if err != nil {
		return err
	}
	if err := tx.ErasePost(&p, storage.Removed); err != nil {
		return err
	}
	return s.publish(tx, g, p.ID, activitypub.NewDelete(s.newActivityID(g), note))
}

// groupOfNote finds the local group that authored a note: one of its
// copies of a post or one of its direct messages.
func (s *Service) groupOfNote(tx *storage.Tx, id string) (storage.Group, bool, error) {
	var groupID int64
	p, err := tx.PostByCopy(id)
	if err == nil {
		groupID = p.GroupID
	} else if errors.Is(err, storage.ErrNotFound) {
		var n storage.Notice
		n, err = tx.NoticeByNote(id)
		groupID = n.GroupID
	}
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Group{}, false, nil
	}
	if err != nil {
		return storage.Group{}, false, err
	}
	g, err := tx.GroupByID(groupID)
	return g, err == nil, err
}
