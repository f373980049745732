package federation

import (
	"context"
	"errors"
	"fmt"
	"html"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// ErrNoSuchPost is returned for an address that names no post the group
// shares.
var ErrNoSuchPost = errors.New("the group shares no post at this address")

// maxPins is how many posts a group pins at most, as many as Mastodon
// lets an account pin.
const maxPins = 5

// ErrPinLimit is returned when pinning one post more than maxPins.
var ErrPinLimit = fmt.Errorf("the group pins %d posts already, the most it may; unpin one first", maxPins)

// ErrPinned is returned when pinning a post pinned already, and
// ErrNotPinned when unpinning one that is not.
var (
	ErrPinned    = errors.New("is pinned already")
	ErrNotPinned = errors.New("is not pinned")
)

// sharedPost finds the post g shares at url: a member's post by its id or
// its web page, which is what Mastodon's "copy link" gives, or the group's
// own copy of a post.
func sharedPost(tx *storage.Tx, g storage.Group, url string) (storage.Post, error) {
	p, err := tx.PostByObject(g.ID, url)
	if errors.Is(err, storage.ErrNotFound) {
		p, err = tx.PostByCopy(url)
		if err == nil && p.GroupID != g.ID {
			err = storage.ErrNotFound
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		p, err = tx.PostByURL(g.ID, url)
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return p, fmt.Errorf("%s: %w", url, ErrNoSuchPost)
	case err != nil:
		return p, err
	case p.State == storage.Held:
		return p, fmt.Errorf("%s: %w (it waits for a moderator: release or decline it)", url, ErrNoSuchPost)
	case p.State != storage.Relayed:
		return p, fmt.Errorf("%s: %w (it was %s already)", url, ErrNoSuchPost, p.State)
	}
	return p, nil
}

// address is how the group names one of its posts: its own copy, or the
// member's post it boosted.
func address(p storage.Post) string {
	if p.CopyID != "" {
		return p.CopyID
	}
	return p.ObjectID
}

// RemovePost takes a post the group shared back from everywhere it went,
// and tells its author why, as a moderator's "remove" does.
func (s *Service) RemovePost(ctx context.Context, group, url, reason string) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		_, err := s.removePost(tx, g, url, reason, byAdmin)
		return err
	})
}

// removePost retracts the post at url from every server the group sent it
// to, for a moderator (by): the group's copy is deleted; a boost is undone
// and deleted, and group-aware servers get the Announce of the group's
// Delete of the post. Its author is told by direct message, with reason.
func (s *Service) removePost(tx *storage.Tx, g storage.Group, url, reason, by string) (storage.Post, error) {
	p, err := sharedPost(tx, g, url)
	if err != nil {
		return p, err
	}
	if p.CopyID != "" {
		err = s.deleteCopy(tx, p)
	} else {
		err = s.withdraw(tx, p, activitypub.NewRemoval(s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFollowers(g.Name), p.ObjectID))
	}
	if err != nil {
		return p, err
	}
	s.log.Info("post removed by a moderator", "group", g.Name, "post", address(p))
	if err := logAction(tx, g, by, "remove", address(p), reason); err != nil {
		return p, err
	}
	author, err := tx.Actor(p.AuthorID)
	if errors.Is(err, storage.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	what := "your post"
	if p.Anonymous {
		what = "your anonymous post"
	}
	why := "<p>No reason was given.</p>"
	if reason != "" {
		why = "<p>The reason given: " + html.EscapeString(reason) + "</p>"
	}
	_, err = s.tell(tx, g, author, "<p>A moderator of "+html.EscapeString(g.Name)+" removed "+what+" from the group: "+
		html.EscapeString(address(p))+". The group no longer shares it.</p>"+why, p.ObjectID, 0)
	return p, err
}

// PinPost pins a post the group shares to its profile, as a moderator's
// "pin" does.
func (s *Service) PinPost(ctx context.Context, group, url string) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		_, err := s.pin(tx, g, url, true, byAdmin)
		return err
	})
}

// UnpinPost takes a post off the group's profile.
func (s *Service) UnpinPost(ctx context.Context, group, url string) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		_, err := s.pin(tx, g, url, false, byAdmin)
		return err
	})
}

// pin pins the post at url to g's featured collection, or unpins it, for
// a moderator (by), and tells the members' servers with an Add or a
// Remove, on which Mastodon updates the group's profile.
func (s *Service) pin(tx *storage.Tx, g storage.Group, url string, pinned bool, by string) (storage.Post, error) {
	p, err := sharedPost(tx, g, url)
	if err != nil {
		return p, err
	}
	typ, action := "Add", "pin"
	switch {
	case pinned && !p.PinnedAt.IsZero():
		return p, fmt.Errorf("%s %w", address(p), ErrPinned)
	case !pinned && p.PinnedAt.IsZero():
		return p, fmt.Errorf("%s %w", address(p), ErrNotPinned)
	case !pinned:
		typ, action = "Remove", "unpin"
	}
	if pinned {
		current, err := tx.PinnedPosts(g.ID)
		if err != nil {
			return p, err
		}
		if len(current) >= maxPins {
			return p, ErrPinLimit
		}
	}
	if err := tx.SetPinned(p.ID, pinned); err != nil {
		return p, err
	}
	to, cc := []string{activitypub.Public}, []string{s.iris.GroupFollowers(g.Name)}
	if g.Visibility == storage.Private {
		to, cc = cc, nil
	}
	change := activitypub.NewFeaturedChange(typ, s.newActivityID(g), s.iris.Group(g.Name), s.iris.GroupFeatured(g.Name),
		address(p), to, cc)
	if err := s.sendToMembers(tx, g, change, p.ID, false, everyServer); err != nil {
		return p, err
	}
	return p, logAction(tx, g, by, action, address(p), "")
}
