package federation

import (
	"context"
	"errors"
	"html"

	"github.com/hearth-social/hearth/storage"
)

// onFollow is a request to join. Open groups accept at once, approval
// groups hold it for a moderator, whom they tell (unless the group trusts
// the person's server: then it is accepted too), and banned actors and
// closed groups get a Reject so the request does not hang in their client.
// A ban that ran out is lifted first. (Servers the instance does not
// federate with were refused before this, with 403.)
func (s *Service) onFollow(ctx context.Context, in inbound) error {
	follow := in.activity
	joining := false
	err := s.commit(ctx, in, func(tx *storage.Tx) error {
		g, ok, err := s.groupByIRI(tx, follow.ObjectID())
		if err != nil || !ok {
			return err
		}
		current, err := tx.Membership(g.ID, in.actor.ID)
		if err == nil && tx.BanExpired(current) {
			if err := s.liftExpiredBan(tx, current); err != nil {
				return err
			}
			err = storage.ErrNotFound
		}
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		case current.State == storage.Banned:
			return s.answerFollow(tx, g, in.actor, follow.ID, "Reject")
		case current.State == storage.Member:
			// Their server forgot it follows us; confirm again.
			if err := tx.SetMembership(g.ID, in.actor.ID, storage.Member, follow.ID); err != nil {
				return err
			}
			return s.answerFollow(tx, g, in.actor, follow.ID, "Accept")
		}
		if g.Join == storage.JoinClosed {
			return s.answerFollow(tx, g, in.actor, follow.ID, "Reject")
		}
		joining = true
		if g.Join == storage.JoinApproval && !trusts(g, in.actor.Host) {
			return s.holdJoinRequest(tx, g, in.actor, follow.ID, err == nil)
		}
		if err := tx.SetMembership(g.ID, in.actor.ID, storage.Member, follow.ID); err != nil {
			return err
		}
		s.log.Info("member joined", "group", g.Name)
		s.log.Debug("member joined", "group", g.Name, "actor", in.actor.ID)
		return s.answerFollow(tx, g, in.actor, follow.ID, "Accept")
	})
	if err == nil && joining {
		// Only now, with the Follow kept: see learner.
		s.learning.add(in.actor)
	}
	return err
}

// holdJoinRequest keeps a request to join for the moderators and, unless
// it repeats one that waits already, tells them, with the two lines that
// answer it.
func (s *Service) holdJoinRequest(tx *storage.Tx, g storage.Group, person storage.Actor, followID string, waiting bool) error {
	s.log.Info("join request held for a moderator", "group", g.Name)
	s.log.Debug("join request", "group", g.Name, "actor", person.ID)
	if err := tx.SetMembership(g.ID, person.ID, storage.Pending, followID); err != nil || waiting {
		return err
	}
	name := accountName(person)
	asked := ""
	if len(g.Questions) > 0 {
		asked = "<p>They were sent the group's questions; you will be sent their answer.</p>"
	}
	if _, err := s.tellModerators(tx, g, "<p>"+html.EscapeString(name)+" asks to join "+html.EscapeString(g.Name)+
		".</p>"+asked+"<p>To let them in or turn them down, send the group one of these lines as a direct message:</p>"+
		commandLines("approve "+name, "reject "+name), 0); err != nil {
		return err
	}
	if len(g.Questions) == 0 {
		return nil
	}
	return s.askQuestions(tx, g, person)
}
