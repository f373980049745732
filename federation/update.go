package federation

import (
	"context"
	"slices"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// onUpdate refreshes a cached actor, or carries an author's edit of a
// relayed post to the members.
func (s *Service) onUpdate(ctx context.Context, in inbound) error {
	if in.activity.ObjectID() == in.actor.ID {
		if _, err := s.remote.RefreshActor(ctx, in.actor.ID); err != nil {
			s.log.Info("could not refresh an updated actor", "host", in.actor.Host)
			s.log.Debug("could not refresh updated actor", "actor", in.actor.ID, "err", err)
		}
		return s.commit(ctx, in, func(*storage.Tx) error { return nil })
	}
	obj, ok, err := s.authoredObject(ctx, in)
	if err != nil || !ok {
		return err
	}
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		posts, err := relayedPosts(tx, obj.ID, in.actor.ID)
		if err != nil || len(posts) == 0 {
			return err
		}
		meantFor, err := s.targetGroups(tx, in.activity, obj)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if !p.Anonymous && !slices.ContainsFunc(meantFor, func(g storage.Group) bool { return g.ID == p.GroupID }) {
				// The author took the group out of the post: the consent
				// it was relayed on is gone, so the relay goes too.
				if err := s.withdrawConsent(tx, p); err != nil {
					return err
				}
				continue
			}
			if p.CopyID != "" {
				if err := s.updateCopy(tx, p, obj, in.actor); err != nil {
					return err
				}
				continue
			}
			if !obj.IsPublic() {
				// The author narrowed who may read the post: relaying the
				// edit would publish it. The group withdraws its relay.
				if err := s.withdraw(tx, p, nil); err != nil {
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

// withdrawConsent takes back a post its author no longer addresses to the
// group: the boost is undone, or the group's own copy deleted.
func (s *Service) withdrawConsent(tx *storage.Tx, p storage.Post) error {
	if p.CopyID != "" {
		return s.deleteCopy(tx, p)
	}
	return s.withdraw(tx, p, nil)
}
