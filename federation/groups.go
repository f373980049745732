package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

var groupName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// ErrInvalidName is returned for a group name outside [a-z0-9_]{1,64}.
var ErrInvalidName = errors.New("a group name is 1 to 64 characters from a-z, 0-9 and _")

// ErrNameTaken is returned when a group of that name exists.
var ErrNameTaken = errors.New("a group with that name exists already")

// ErrNameRetiring is returned for the name of a group deleted so recently
// that its members' servers are still being told. Reusing it at once would
// also give the new group the id those servers were just told is gone.
var ErrNameRetiring = errors.New("a group of that name was just deleted and its members' servers are still being told; the name is free again once they are (within three days)")

// ErrNoSuchGroup is returned for a name no group has.
var ErrNoSuchGroup = errors.New("no such group")

// ValidateGroupName checks a group name before anything is stored.
func ValidateGroupName(name string) error {
	if !groupName.MatchString(name) {
		return fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	return nil
}

// CreateGroup validates g, gives it a fresh RSA key and stores it.
func (s *Service) CreateGroup(ctx context.Context, g *storage.Group) error {
	if err := ValidateGroupName(g.Name); err != nil {
		return err
	}
	if err := validateGroupSettings(g); err != nil {
		return err
	}
	var err error
	if g.PrivateKeyPEM, g.PublicKeyPEM, err = s.newKeyPair(); err != nil {
		return err
	}
	var retiring bool
	err = s.store.Update(ctx, func(tx *storage.Tx) error {
		if retiring, err = tx.NameRetiring(g.Name); err != nil || retiring {
			return err
		}
		return tx.CreateGroup(g)
	})
	switch {
	case retiring:
		return fmt.Errorf("%q: %w", g.Name, ErrNameRetiring)
	case errors.Is(err, storage.ErrConflict):
		return fmt.Errorf("%q: %w", g.Name, ErrNameTaken)
	}
	return err
}

// Group returns the group called name, or ErrNoSuchGroup.
func (s *Service) Group(ctx context.Context, name string) (storage.Group, error) {
	return s.viewGroup(ctx, name, nil)
}

// validateGroupSettings fills defaults and rejects values the schema would.
func validateGroupSettings(g *storage.Group) error {
	if g.Visibility == "" {
		g.Visibility = storage.Public
	}
	if g.Join == "" {
		g.Join = storage.JoinOpen
		if g.Visibility == storage.Private {
			g.Join = storage.JoinApproval
		}
	}
	if g.Posting == "" {
		g.Posting = storage.PostingMembers
	}
	switch g.Visibility {
	case storage.Public, storage.Private:
	default:
		return fmt.Errorf("visibility %q: must be public or private", g.Visibility)
	}
	switch g.Join {
	case storage.JoinOpen, storage.JoinApproval, storage.JoinClosed:
	default:
		return fmt.Errorf("join %q: must be open, approval or closed", g.Join)
	}
	if g.Visibility == storage.Private && g.Join == storage.JoinOpen {
		return errors.New("a private group cannot have open joining: members are approved")
	}
	switch g.Posting {
	case storage.PostingMembers, storage.PostingModerators:
	default:
		return fmt.Errorf("posting %q: must be members or moderators", g.Posting)
	}
	if g.Replies == "" {
		g.Replies = storage.RepliesAll
	}
	switch g.Replies {
	case storage.RepliesAll, storage.RepliesStarters, storage.RepliesNone:
	default:
		return fmt.Errorf("replies %q: must be all, starters or none", g.Replies)
	}
	if err := validateHolds(g); err != nil {
		return err
	}
	return validateScreening(g)
}

// groupActorDocument is the Group actor as peers fetch it.
func (s *Service) groupActorDocument(g storage.Group) activitypub.GroupActor {
	return activitypub.NewGroupActor(s.iris, activitypub.GroupProfile{
		Name:            g.Name,
		DisplayName:     g.DisplayName,
		Summary:         g.Summary,
		IconURL:         g.IconURL,
		PublicKeyPEM:    g.PublicKeyPEM,
		Listed:          g.Visibility == storage.Public,
		ApprovesMembers: g.Join != storage.JoinOpen,
		ModeratorsOnly:  g.Posting == storage.PostingModerators,
		Created:         g.CreatedAt,
	})
}

// UpdateGroup applies change to the stored group called name, saves it, and
// sends the new profile to the members' servers so that their copy of the
// group (name, bio, avatar, locked or not) is refreshed.
func (s *Service) UpdateGroup(ctx context.Context, name string, change func(*storage.Group)) (storage.Group, error) {
	var updated storage.Group
	err := s.inGroup(ctx, name, func(tx *storage.Tx, g storage.Group) error {
		change(&g)
		if err := validateGroupSettings(&g); err != nil {
			return err
		}
		if err := tx.UpdateGroup(&g); err != nil {
			return err
		}
		updated = g
		return s.sendToMembers(tx, g, s.aboutItself(g, "Update", s.groupActorDocument(g)), 0, false, everyServer)
	})
	return updated, err
}

// DeleteGroup deletes the group called name with its members and posts. Its
// members' servers are sent a Delete of the group, so that it leaves their
// follows; the group's key is kept until that has gone out. The Delete is
// addressed here, in full, rather than by a fan-out: retiring the group
// ends the memberships a fan-out would read.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	return s.inGroup(ctx, name, func(tx *storage.Tx, g storage.Group) error {
		inboxes, err := tx.MemberInboxes(g.ID)
		if err != nil {
			return err
		}
		if err := tx.RetireGroup(g.ID); err != nil {
			return err
		}
		return s.send(tx, g, s.aboutItself(g, "Delete", s.iris.Group(g.Name)), 0, false, inboxes)
	})
}

// groupNamed returns the group called name, or ErrNoSuchGroup; a name no
// group could have is not looked up. Every lookup by name goes through it,
// so an unknown group is one error everywhere, and 404 on the web.
func groupNamed(tx *storage.Tx, name string) (storage.Group, error) {
	if ValidateGroupName(name) != nil {
		return storage.Group{}, fmt.Errorf("%q: %w", name, ErrNoSuchGroup)
	}
	g, err := tx.GroupByName(name)
	if errors.Is(err, storage.ErrNotFound) {
		return g, fmt.Errorf("%q: %w", name, ErrNoSuchGroup)
	}
	return g, err
}

// viewGroup loads the group called name and, when fn is set, runs it in the
// same read transaction.
func (s *Service) viewGroup(ctx context.Context, name string, fn func(*storage.Tx, storage.Group) error) (storage.Group, error) {
	var g storage.Group
	err := s.store.View(ctx, func(tx *storage.Tx) error {
		var err error
		if g, err = groupNamed(tx, name); err != nil || fn == nil {
			return err
		}
		return fn(tx, g)
	})
	return g, err
}

// inGroup runs fn in a write transaction with the group called name, and
// wakes the delivery workers for whatever fn queued.
func (s *Service) inGroup(ctx context.Context, name string, fn func(*storage.Tx, storage.Group) error) error {
	err := s.store.Update(ctx, func(tx *storage.Tx) error {
		g, err := groupNamed(tx, name)
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

// groupOf loads the group named in the request's URL, and runs fn with it
// in the same read transaction when fn is set.
func (s *Service) groupOf(r *http.Request, fn func(*storage.Tx, storage.Group) error) (storage.Group, error) {
	return s.viewGroup(r.Context(), r.PathValue("name"), fn)
}

// groupByIRI finds the local group an IRI names (its id or followers).
func (s *Service) groupByIRI(tx *storage.Tx, iri string) (storage.Group, bool, error) {
	name, ok := s.iris.GroupName(iri)
	if !ok {
		return storage.Group{}, false, nil
	}
	g, err := groupNamed(tx, name)
	if errors.Is(err, ErrNoSuchGroup) {
		return g, false, nil
	}
	return g, err == nil, err
}
