package federation

import (
	"context"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

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
