package federation

import (
	"encoding/json"
	"errors"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// relayPost records the post in g and sends it to the members, both as the
// FEP-1b12 Announce of the Create, for group-aware servers, and as a boost
// of the note, which is what Mastodon and other microblogs show, unless the
// group's reply scope keeps the reply from them (see boosts). A private
// group publishes its own copy instead, and a message that instructs the
// group (see groupCommand) is acted on, never relayed.
func (s *Service) relayPost(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) error {
	if command, err := s.groupCommand(tx, g, in, obj); command || err != nil {
		return err
	}
	allowed, err := mayRelay(tx, g, in)
	if err != nil {
		return err
	}
	// Above debug, a post is named by its server: its address names its
	// author.
	log := s.log.With("group", g.Name, "from", in.actor.Host)
	log.Debug("relaying", "object", obj.ID)
	if !allowed {
		log.Info("not relayed: the author may not post in this group")
		return nil
	}
	if g.Visibility == storage.Private {
		return s.relayPrivate(tx, g, in, obj)
	}
	if !obj.IsPublic() {
		// The FEP-1b12 form embeds the post itself: relaying a
		// followers-only post or a direct message would publish it.
		log.Info("not relayed: a public group relays only public or unlisted posts")
		return nil
	}
	post := receivedPost(g, in, obj, storage.Relayed)
	if relay, err := s.admitPost(tx, g, in, obj, post); err != nil || !relay {
		return err
	}
	now := tx.Now()
	boosted := s.boosts(g, obj)
	// The FEP-1b12 form passes the Create on exactly as received: when it
	// names blind recipients it would show everyone whom the author copied
	// blind, in deliveries and in the outbox. Then only the boost, which
	// names the post, exists.
	if !blindCopies(in.activity) && !blindCopies(obj) {
		wrapped, err := s.wrappedAnnounce(g, in.activity, in.actor.ID, now)
		if err != nil {
			return err
		}
		audience := wrappedAfterBoost
		if !boosted {
			audience = wrappedReaders
		}
		if err := s.sendToMembers(tx, g, wrapped, post.ID, true, audience); err != nil {
			return err
		}
	}
	if boosted {
		boost := activitypub.NewAnnounce(s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name), now, obj.ID, in.actor.ID)
		if err := s.sendToMembers(tx, g, boost, post.ID, true, boostReaders); err != nil {
			return err
		}
	}
	log.Info("relayed post", "boosted", boosted)
	log.Debug("relayed post by", "author", in.actor.ID)
	return nil
}

// boosts reports whether group g boosts post obj to the servers that
// show boosts alone, as its reply scope says: a thread starter always, a
// reply unless the scope keeps replies to the group-aware servers, which
// show them in their threads, and to the group's own pages. Mastodon puts
// a boost in the home timeline of every member, each reply of a long
// thread among them.
func (s *Service) boosts(g storage.Group, obj *activitypub.Object) bool {
	if obj.InReplyTo == "" {
		return true
	}
	switch g.Replies {
	case storage.RepliesStarters:
		return false
	case storage.RepliesNone:
		return obj.Mentions(s.iris.Group(g.Name))
	}
	return true
}

// receivedPost is the record of a member's post obj, which came in in, for
// group g.
func receivedPost(g storage.Group, in inbound, obj *activitypub.Object, state storage.PostState) *storage.Post {
	var page string
	if activitypub.SameOrigin(obj.URL, obj.ID) {
		// A page elsewhere could pass for another post's, which a
		// moderator names by its page.
		page = obj.URL
	}
	return &storage.Post{
		GroupID:     g.ID,
		ObjectID:    obj.ID,
		AuthorID:    in.actor.ID,
		ActivityID:  in.activity.ID,
		InReplyTo:   obj.InReplyTo,
		URL:         page,
		State:       state,
		Summary:     activitypub.PlainText(obj.Summary),
		Content:     activitypub.SanitizeHTML(obj.Content),
		RawActivity: in.activity.Raw,
	}
}

// storeNewPost stores p unless its group has the object already (the same
// post delivered twice, or addressed and mentioned); fresh reports whether
// it was stored.
func storeNewPost(tx *storage.Tx, p *storage.Post) (fresh bool, err error) {
	err = tx.CreatePost(p)
	if errors.Is(err, storage.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// relayedPosts lists the posts of objectID by author that groups relayed.
func relayedPosts(tx *storage.Tx, objectID, author string) ([]storage.Post, error) {
	posts, err := tx.PostsOfObject(objectID)
	if err != nil {
		return nil, err
	}
	var out []storage.Post
	for _, p := range posts {
		if p.State == storage.Relayed && (author == "" || p.AuthorID == author) {
			out = append(out, p)
		}
	}
	return out, nil
}

// withdraw marks a relayed post removed, erases it, takes it out of the
// outbox, and retracts it from the servers of the members and of its
// author. Group-aware servers get the group's Announce of deletion, when
// there is one: the author's Delete, or the group's own when a moderator
// removed the post. The others get, for each boost of the post, its Undo
// and the Delete of the boost's Announce: Mastodon and GoToSocial (checked
// with 0.20) act on either, and the Delete covers servers that take an
// Undo of a boost only in forms they expect.
func (s *Service) withdraw(tx *storage.Tx, p storage.Post, deletion any) error {
	sent, err := tx.ActivitiesOfPost(p.ID)
	if err != nil {
		return err
	}
	if err := tx.ErasePost(&p, storage.Removed); err != nil {
		return err
	}
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	author, err := authorInbox(tx, p)
	if err != nil {
		return err
	}
	if deletion != nil {
		announce := activitypub.NewAnnounce(s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name), tx.Now(),
			deletion, p.AuthorID)
		if err := s.sendToMembers(tx, g, announce, p.ID, false, wrappedReaders, author...); err != nil {
			return err
		}
	}
	for _, a := range sent {
		var boost activitypub.Activity
		if a.Type != "Announce" || json.Unmarshal(a.Body, &boost) != nil {
			continue
		}
		if _, isBoost := boost.Object.(string); !isBoost {
			continue
		}
		if err := s.sendToMembers(tx, g, activitypub.NewUndo(s.newActivityID(g), &boost), p.ID, false, boostReaders, author...); err != nil {
			return err
		}
		if err := s.sendToMembers(tx, g, activitypub.NewDeleteOf(s.newActivityID(g), &boost), p.ID, false, boostReaders, author...); err != nil {
			return err
		}
	}
	return nil
}

// authorInbox is where a post's relay is withdrawn from besides the members'
// servers: its author's, whose server showed the boost too, even if the
// author has since left or been banned. It is empty when the author's
// account is not known.
func authorInbox(tx *storage.Tx, p storage.Post) ([]string, error) {
	author, err := tx.Actor(p.AuthorID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []string{author.DeliveryInbox()}, nil
}
