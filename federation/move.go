package federation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/storage"
)

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
	return s.commit(ctx, in, func(tx *storage.Tx) error {
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
			if m.State == storage.Banned {
				// The ban keeps its terms; the new account was sent no Block.
				err = tx.Ban(m.GroupID, target.ID, m.BanExpiresAt, m.BanReason, "")
			} else {
				err = tx.SetMembership(m.GroupID, target.ID, m.State, "")
			}
			if err != nil {
				return err
			}
		}
		s.log.Info("member moved to a new account", "groups", len(memberships))
		s.log.Debug("member moved", "from", in.actor.ID, "to", target.ID)
		return nil
	})
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
