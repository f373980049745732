package federation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/storage"
)

// postTypes are the objects a group relays as posts.
var postTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Question": true}

// authoredObject returns the object of a Create or Update by its own author:
// taken as embedded when it comes from the signer's server, fetched from
// its origin otherwise. ok is false for anything that is not a post written
// by the activity's actor.
func (s *Service) authoredObject(ctx context.Context, in inbound) (*activitypub.Object, bool, error) {
	ref := in.activity.Object
	if ref == nil || ref.ID == "" {
		return nil, false, nil
	}
	obj := ref.Embedded
	if obj == nil || !activitypub.SameOrigin(obj.ID, in.actor.ID) {
		if !activitypub.SameOrigin(ref.ID, in.actor.ID) {
			return nil, false, nil
		}
		fetched, err := s.remote.Object(ctx, ref.ID, dereference.Signed)
		if errors.Is(err, dereference.ErrGone) {
			// Deleted before we could read it: nothing to relay.
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fetchError("could not fetch the object from its origin", err)
		}
		obj = fetched
	}
	if !postTypes[obj.Type] || obj.AttributedTo != in.actor.ID {
		return obj, false, nil
	}
	return obj, true, nil
}

// onCreate relays a member's new post to every group it is meant for: the
// groups it addresses or mentions, and the groups that relayed the post it
// answers.
func (s *Service) onCreate(ctx context.Context, in inbound) error {
	obj, ok, err := s.authoredObject(ctx, in)
	if err != nil || !ok {
		return err
	}
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
		groups, err := s.targetGroups(tx, in.activity, obj)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := s.relayPost(tx, g, in, obj); err != nil {
				return err
			}
		}
		return nil
	})
}

// targetGroups lists, once each, the local groups a post is meant for.
func (s *Service) targetGroups(tx *storage.Tx, activity, obj *activitypub.Object) ([]storage.Group, error) {
	var candidates []string
	candidates = append(candidates, obj.Audiences()...)
	candidates = append(candidates, activity.Audiences()...)
	for _, tag := range obj.Tag {
		if tag.Type == "Mention" {
			candidates = append(candidates, tag.Href)
		}
	}
	seen := map[int64]bool{}
	var groups []storage.Group
	add := func(g storage.Group) {
		if !seen[g.ID] {
			seen[g.ID] = true
			groups = append(groups, g)
		}
	}
	for _, iri := range candidates {
		g, ok, err := s.groupByIRI(tx, iri)
		if err != nil {
			return nil, err
		}
		if ok {
			add(g)
		}
	}
	if obj.InReplyTo != "" {
		g, ok, err := s.groupOfNote(tx, obj.InReplyTo)
		if err != nil {
			return nil, err
		}
		if ok {
			add(g)
		}
		parents, err := tx.PostsOfObject(obj.InReplyTo)
		if err != nil {
			return nil, err
		}
		for _, p := range parents {
			if p.State != storage.Relayed {
				continue
			}
			g, err := tx.GroupByID(p.GroupID)
			if err != nil {
				return nil, err
			}
			add(g)
		}
	}
	return groups, nil
}

// mayPost applies the group's posting policy to the author.
func mayPost(tx *storage.Tx, g storage.Group, author string) (bool, error) {
	moderator, err := tx.IsModerator(g.ID, author)
	if err != nil || moderator {
		return moderator, err
	}
	if g.Posting == storage.PostingModerators {
		return false, nil
	}
	m, err := tx.Membership(g.ID, author)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil && m.State == storage.Member, err
}

// relayPost records the post in g and sends it to the members, both as the
// FEP-1b12 Announce of the Create, for group-aware servers, and as a boost
// of the note, which is what Mastodon and other microblogs show. A private
// group publishes its own copy instead, and a message that instructs the
// group (see groupCommand) is acted on, never relayed.
func (s *Service) relayPost(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) error {
	if command, err := s.groupCommand(tx, g, in, obj); command || err != nil {
		return err
	}
	allowed, err := mayPost(tx, g, in.actor.ID)
	if err != nil {
		return err
	}
	log := s.log.With("group", g.Name, "object", obj.ID)
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
	if fresh, err := storeNewPost(tx, post); err != nil || !fresh {
		return err
	}
	group, followers := s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name)
	now := tx.Now()
	boost := activitypub.NewAnnounce(s.newActivityID(g), group, followers, now, obj.ID, in.actor.ID)
	wrappedTo, boostTo, err := announceAudiences(tx, g)
	if err != nil {
		return err
	}
	if blindCopies(in.activity) || blindCopies(obj) {
		// The FEP-1b12 form passes the Create on exactly as received: it
		// would show everyone whom the author copied blind, in deliveries
		// and in the outbox. Only the boost, which names the post, exists.
		wrappedTo = nil
	} else {
		wrapped := activitypub.NewAnnounce(s.newActivityID(g), group, followers, now, json.RawMessage(in.activity.Raw), in.actor.ID)
		if err := s.send(tx, g, wrapped, post.ID, true, wrappedTo); err != nil {
			return err
		}
	}
	if err := s.send(tx, g, boost, post.ID, true, boostTo); err != nil {
		return err
	}
	log.Info("relayed post", "requests", len(wrappedTo)+len(boostTo))
	log.Debug("relayed post by", "author", in.actor.ID)
	return nil
}

// blindCopies reports whether o names blind recipients (bto or bcc).
func blindCopies(o *activitypub.Object) bool { return len(o.BTo)+len(o.BCC) > 0 }

// receivedPost is the record of a member's post obj, which came in in, for
// group g.
func receivedPost(g storage.Group, in inbound, obj *activitypub.Object, state storage.PostState) *storage.Post {
	return &storage.Post{
		GroupID:     g.ID,
		ObjectID:    obj.ID,
		AuthorID:    in.actor.ID,
		ActivityID:  in.activity.ID,
		InReplyTo:   obj.InReplyTo,
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

// announceToMembers sends the FEP-1b12 Announce of a received activity to
// the members of the post's group. The activity goes out exactly as
// received, so one that names blind recipients (bto, bcc) is not passed on
// at all: it would show everyone whom its author copied blind.
func (s *Service) announceToMembers(tx *storage.Tx, p storage.Post, activity *activitypub.Object, author string, inOutbox bool) error {
	if blindCopies(activity) {
		return nil
	}
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	wrappedTo, _, err := announceAudiences(tx, g)
	if err != nil {
		return err
	}
	a := activitypub.NewAnnounce(s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name), tx.Now(),
		json.RawMessage(activity.Raw), author)
	return s.send(tx, g, a, p.ID, inOutbox, wrappedTo)
}

// onUpdate refreshes a cached actor, or carries an author's edit of a
// relayed post to the members.
func (s *Service) onUpdate(ctx context.Context, in inbound) error {
	if in.activity.ObjectID() == in.actor.ID {
		if _, err := s.remote.RefreshActor(ctx, in.actor.ID); err != nil {
			s.log.Info("could not refresh updated actor", "actor", in.actor.ID, "err", err)
		}
		return s.commit(ctx, in.activity.ID, func(*storage.Tx) error { return nil })
	}
	obj, ok, err := s.authoredObject(ctx, in)
	if err != nil || !ok {
		return err
	}
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
		posts, err := relayedPosts(tx, obj.ID, in.actor.ID)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if p.CopyID != "" {
				if err := s.updateCopy(tx, p, obj, in.actor); err != nil {
					return err
				}
				continue
			}
			if !obj.IsPublic() {
				// The author narrowed who may read the post: relaying the
				// edit would publish it. The group withdraws its relay.
				if err := s.withdraw(tx, p, nil, in.actor.ID); err != nil {
					return err
				}
				continue
			}
			p.Summary = activitypub.PlainText(obj.Summary)
			p.Content = activitypub.SanitizeHTML(obj.Content)
			if err := tx.UpdatePost(&p); err != nil {
				return err
			}
			if err := s.announceToMembers(tx, p, in.activity, in.actor.ID, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// onDelete handles an account deleting itself (it leaves every group) or an
// author deleting a relayed post: group-aware servers get the Announce of
// the Delete, microblogs get the boost withdrawn.
func (s *Service) onDelete(ctx context.Context, in inbound) error {
	target := in.activity.ObjectID()
	if target == in.actor.ID {
		return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
			s.log.Debug("account deleted; removing it from every group", "actor", in.actor.ID)
			return tx.DeleteActor(in.actor.ID)
		})
	}
	if target == "" || !activitypub.SameOrigin(target, in.actor.ID) {
		return nil
	}
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
		if err := dropHeld(tx, target, in.actor.ID); err != nil {
			return err
		}
		posts, err := relayedPosts(tx, target, in.actor.ID)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if p.CopyID != "" {
				if err := s.deleteCopy(tx, p); err != nil {
					return err
				}
				continue
			}
			if err := s.withdraw(tx, p, in.activity, in.actor.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// withdraw marks a relayed post removed, erases it, takes it out of the
// outbox, and tells the members' servers: the Announce of the author's
// Delete (when there is one) for group-aware servers, an Undo of the boost
// for the others.
func (s *Service) withdraw(tx *storage.Tx, p storage.Post, deletion *activitypub.Object, author string) error {
	sent, err := tx.ActivitiesOfPost(p.ID)
	if err != nil {
		return err
	}
	if err := tx.ErasePost(&p, storage.Removed); err != nil {
		return err
	}
	if deletion != nil {
		if err := s.announceToMembers(tx, p, deletion, author, false); err != nil {
			return err
		}
	}
	g, err := tx.GroupByID(p.GroupID)
	if err != nil {
		return err
	}
	_, boostTo, err := announceAudiences(tx, g)
	if err != nil {
		return err
	}
	for _, a := range sent {
		var boost activitypub.Activity
		if a.Type != "Announce" || json.Unmarshal(a.Body, &boost) != nil {
			continue
		}
		if _, isBoost := boost.Object.(string); !isBoost {
			continue
		}
		if err := s.send(tx, g, activitypub.NewUndo(s.newActivityID(g), &boost), p.ID, false, boostTo); err != nil {
			return err
		}
	}
	return nil
}

// onLike passes a member's Like or Dislike of a relayed post to the other
// members' group-aware servers, as FEP-1b12 asks.
func (s *Service) onLike(ctx context.Context, in inbound) error {
	return s.passOnReaction(ctx, in, in.activity.ObjectID())
}

// passOnReaction sends a member's reaction to a relayed post (a Like, a
// Dislike, or the Undo of one) to the other members' group-aware servers,
// wrapped in the group's Announce.
func (s *Service) passOnReaction(ctx context.Context, in inbound, target string) error {
	if target == "" {
		return nil
	}
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
		posts, err := relayedPosts(tx, target, "")
		if err != nil {
			return err
		}
		for _, p := range posts {
			g, err := tx.GroupByID(p.GroupID)
			if err != nil {
				return err
			}
			// A private group's posts are its own copies; a Like of the
			// member's original is not for the members' servers to see
			// wrapped in a public Announce.
			if g.Visibility == storage.Private || p.CopyID != "" {
				continue
			}
			allowed, err := mayPost(tx, g, in.actor.ID)
			if err != nil {
				return err
			}
			if !allowed {
				continue
			}
			if err := s.announceToMembers(tx, p, in.activity, in.actor.ID, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// onMove follows a member to their new account when the new account names
// the old one as an alias: memberships and bans move with them, and a ban
// the new account already has stays.
func (s *Service) onMove(ctx context.Context, in inbound) error {
	if in.activity.ObjectID() != in.actor.ID || in.activity.Target == nil {
		return nil
	}
	obj, err := s.remote.Object(ctx, in.activity.Target.ID, dereference.Public)
	if err != nil {
		return fetchError("could not fetch the move's target", err)
	}
	var aliases struct {
		AlsoKnownAs json.RawMessage `json:"alsoKnownAs"`
	}
	if err := json.Unmarshal(obj.Raw, &aliases); err != nil || !listsIRI(aliases.AlsoKnownAs, in.actor.ID) {
		return &Error{Status: http.StatusBadRequest, Reason: "the new account does not name the old one in alsoKnownAs"}
	}
	target, err := s.remote.ActorRecord(obj)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Reason: "the move's target is not a usable actor", Err: err}
	}
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
		if err := tx.PutActor(target); err != nil {
			return err
		}
		memberships, err := tx.MembershipsOf(in.actor.ID)
		if err != nil {
			return err
		}
		for _, m := range memberships {
			if err := tx.RemoveMembership(m.GroupID, in.actor.ID); err != nil {
				return err
			}
			if m.State == storage.Pending {
				continue
			}
			existing, err := tx.Membership(m.GroupID, target.ID)
			if err == nil && existing.State == storage.Banned {
				continue
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err := tx.SetMembership(m.GroupID, target.ID, m.State, ""); err != nil {
				return err
			}
		}
		s.log.Info("member moved to a new account", "groups", len(memberships))
		s.log.Debug("member moved", "from", in.actor.ID, "to", target.ID)
		return nil
	})
}

// fetchError is the answer to an activity whose object could not be
// fetched: 503 when the failure may pass, so that the sender retries
// rather than give the activity up, and 400 otherwise.
func fetchError(reason string, err error) error {
	if errors.Is(err, dereference.ErrUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Reason: reason + "; try again later", Err: err}
	}
	return &Error{Status: http.StatusBadRequest, Reason: reason, Err: err}
}

// listsIRI reports whether a JSON value (a string or an array of strings)
// contains iri.
func listsIRI(raw json.RawMessage, iri string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == iri
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return false
	}
	for _, s := range many {
		if s == iri {
			return true
		}
	}
	return false
}
