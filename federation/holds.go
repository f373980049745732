package federation

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// A group may hold a post for a moderator instead of relaying it: the
// posts of new members or all posts, as the group chooses, and whatever it
// chooses, posts that mention many groups (the mark of spam sent around)
// and posts from accounts made days ago. A held post is stored with what
// relaying it needs; "release" relays it exactly as it would have been,
// "decline" erases it, and nobody's decision declines it after holdMemory.

const (
	// newAccountAge is how long after it was made an account's posts are
	// held.
	newAccountAge = 2 * 24 * time.Hour
	// holdMemory is how long a held post waits for a moderator before it
	// is declined.
	holdMemory = 14 * 24 * time.Hour
)

// validateHolds fills in the hold settings g leaves unset and rejects
// values the schema would.
func validateHolds(g *storage.Group) error {
	if g.Hold == "" {
		g.Hold = storage.HoldNone
	}
	if g.NonMembers == "" {
		g.NonMembers = storage.NonMembersRefused
	}
	switch g.Hold {
	case storage.HoldNone, storage.HoldNew, storage.HoldAll:
	default:
		return fmt.Errorf("hold %q: must be none, new or all", g.Hold)
	}
	switch g.NonMembers {
	case storage.NonMembersRefused, storage.NonMembersHeld:
	default:
		return fmt.Errorf("non-members %q: must be refuse or hold", g.NonMembers)
	}
	if g.HoldDays < 0 || g.HoldPosts < 0 || g.HoldMentions < 0 {
		return errors.New("the hold settings count days, posts and groups: none of them is negative")
	}
	return nil
}

// mayRelay applies the group's posting policy to the author of a post, as
// mayPost does, but lets a non-member's post through, to be held, when the
// group holds those; a post a moderator released passes.
func mayRelay(tx *storage.Tx, g storage.Group, in inbound) (bool, error) {
	if in.release != nil {
		return true, nil
	}
	allowed, err := mayPost(tx, g, in.actor.ID)
	if err != nil || allowed || g.NonMembers != storage.NonMembersHeld || g.Posting == storage.PostingModerators {
		return allowed, err
	}
	m, err := tx.Membership(g.ID, in.actor.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	return err == nil && m.State == storage.Pending, err
}

// admitPost stores post, a member's post about to be relayed, unless the
// group has it already, and reports whether to relay it now: not when it is
// held for a moderator, whom it tells, and its author. A released post
// takes the place of its held row.
func (s *Service) admitPost(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object, post *storage.Post) (bool, error) {
	if held := in.release; held != nil {
		post.ID, post.CreatedAt = held.ID, held.CreatedAt
		if held.CopyID != "" {
			// The address the moderators were given.
			post.CopyID = held.CopyID
		}
		return true, tx.UpdatePost(post)
	}
	reason, err := s.holdReason(tx, g, in, obj)
	if err != nil || reason == "" {
		fresh, err := storeNewPost(tx, post)
		return fresh, err
	}
	if waiting, err := s.strangerWaits(tx, g, in.actor.ID); err != nil || waiting {
		if waiting {
			s.log.Info("post dropped: its author is no member and has a post waiting already", "group", g.Name, "from", in.actor.Host)
		}
		return false, err
	}
	post.State, post.HoldReason, post.HeldObject = storage.Held, reason, obj.Raw
	if fresh, err := storeNewPost(tx, post); err != nil || !fresh {
		return false, err
	}
	told, err := s.tellModerators(tx, g, holdNotice(g, *post, in.actor, obj), post.ID)
	if err != nil {
		return false, err
	}
	s.log.Info("post held for a moderator", "group", g.Name, "from", in.actor.Host, "reason", reason, "moderators_told", told)
	s.log.Debug("post held", "group", g.Name, "object", obj.ID)
	_, err = s.tell(tx, g, in.actor, "<p>Your post to "+html.EscapeString(g.Name)+" waits for a moderator of the group, "+
		"who will share it with the members or turn it down. You will be told which.</p>", obj.ID, post.ID)
	return false, err
}

// strangerWaits reports whether author, who is not a member of g, has a
// post waiting for its moderators already. Anyone may write to a group that
// holds non-members' posts: one post each at a time reaches the moderators,
// so that nobody can fill their inboxes.
func (s *Service) strangerWaits(tx *storage.Tx, g storage.Group, author string) (bool, error) {
	m, err := tx.Membership(g.ID, author)
	switch {
	case err == nil && m.State == storage.Member:
		return false, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	n, err := tx.CountHeldPostsBy(g.ID, author)
	return n > 0, err
}

// holdReason says why a post waits for a moderator, or "" when it does not.
// A moderator's post never waits.
func (s *Service) holdReason(tx *storage.Tx, g storage.Group, in inbound, obj *activitypub.Object) (string, error) {
	if moderator, err := tx.IsModerator(g.ID, in.actor.ID); err != nil || moderator {
		return "", err
	}
	groups, err := s.groupsMentioned(tx, in.activity, obj)
	if err != nil {
		return "", err
	}
	if groups > g.HoldMentions {
		return fmt.Sprintf("it is addressed to %d groups", groups), nil
	}
	now := tx.Now()
	if published := in.actor.Published; !published.IsZero() && now.Sub(published) < newAccountAge {
		return "its author's account was made less than 2 days ago", nil
	}
	m, err := tx.Membership(g.ID, in.actor.ID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && m.State != storage.Member {
		return "its author is not a member of the group", nil
	}
	if err != nil {
		return "", err
	}
	switch g.Hold {
	case storage.HoldAll:
		return "the group holds every post for a moderator", nil
	case storage.HoldNew:
		if m.JoinedAt.After(now.AddDate(0, 0, -g.HoldDays)) {
			return fmt.Sprintf("its author joined less than %d days ago", g.HoldDays), nil
		}
		released, err := tx.CountPostsBy(g.ID, in.actor.ID)
		if err != nil {
			return "", err
		}
		if released < g.HoldPosts {
			return fmt.Sprintf("its author has had fewer than %d posts shared in the group", g.HoldPosts), nil
		}
	}
	return "", nil
}

// groupsMentioned counts the groups a post is addressed to or mentions:
// this instance's and the groups elsewhere it has met.
func (s *Service) groupsMentioned(tx *storage.Tx, activity, obj *activitypub.Object) (int, error) {
	candidates := append(obj.Audiences(), activity.Audiences()...)
	for _, tag := range obj.Tag {
		if tag.Type == "Mention" {
			candidates = append(candidates, tag.Href)
		}
	}
	seen := map[string]bool{}
	n := 0
	for _, iri := range candidates {
		if iri == "" || seen[iri] {
			continue
		}
		seen[iri] = true
		_, local, err := s.groupByIRI(tx, iri)
		if err != nil {
			return 0, err
		}
		if local {
			n++
			continue
		}
		a, err := tx.Actor(iri)
		switch {
		case err == nil && a.Type == "Group":
			n++
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return 0, err
		}
	}
	return n, nil
}

// heldAddress is the address moderators release or decline a held post
// by: the group's copy, for a private group, or else the post's own page
// or id.
func heldAddress(p storage.Post) string {
	switch {
	case p.CopyID != "":
		return p.CopyID
	case p.URL != "":
		return p.URL
	}
	return p.ObjectID
}

// holdNotice is what the moderators are told of a held post: who wrote
// it, why it waits, what it says (or where to read it, when it carries
// media, which the notice cannot show), and the two lines that act on it.
func holdNotice(g storage.Group, p storage.Post, author storage.Actor, obj *activitypub.Object) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>A post by %s waits for a moderator in %s: %s.</p>",
		html.EscapeString(accountName(author)), html.EscapeString(g.Name), html.EscapeString(p.HoldReason))
	if p.Summary != "" {
		fmt.Fprintf(&b, "<p>Content warning: %s</p>", html.EscapeString(p.Summary))
	}
	if len(obj.Attachment) > 0 {
		// Where its author's server shows it: a private group's copy is
		// served to nobody until it is released.
		page := p.URL
		if page == "" {
			page = p.ObjectID
		}
		fmt.Fprintf(&b, "<p>It carries media; read it at %s</p>", html.EscapeString(page))
	} else {
		fmt.Fprintf(&b, "<blockquote>%s</blockquote>", p.Content)
	}
	b.WriteString("<p>To share it with the members, or to turn it down, send the group one of these lines as a direct message:</p>")
	b.WriteString(commandLines("release "+heldAddress(p), "decline "+heldAddress(p)))
	return b.String()
}

// heldPost finds the post waiting for a moderator of g at url: by the
// group's copy, the post's id or its page.
func heldPost(tx *storage.Tx, g storage.Group, url string) (storage.Post, error) {
	p, err := tx.PostByCopy(url)
	if err == nil && p.GroupID != g.ID {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		p, err = tx.PostByObject(g.ID, url)
	}
	if errors.Is(err, storage.ErrNotFound) {
		p, err = tx.PostByURL(g.ID, url)
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return p, fmt.Errorf("%s: %w", url, ErrNotHeld)
	case err != nil:
		return p, err
	case p.State != storage.Held:
		return p, fmt.Errorf("%s: %w (it was %s already)", url, ErrNotHeld, p.State)
	}
	return p, nil
}

// releaseHeld relays a held member's post as it would have been relayed
// when it came, from the activity and object it was kept with.
func (s *Service) releaseHeld(tx *storage.Tx, g storage.Group, p storage.Post, author storage.Actor) error {
	activity, err := activitypub.Decode(p.RawActivity)
	if err != nil {
		return fmt.Errorf("held post %d: %w", p.ID, err)
	}
	obj, err := activitypub.Decode(p.HeldObject)
	if err != nil {
		return fmt.Errorf("held post %d: %w", p.ID, err)
	}
	return s.relayPost(tx, g, inbound{activity: activity, actor: author, release: &p}, obj)
}

// declineExpiredHolds declines the posts nobody decided on in time.
func (s *Service) declineExpiredHolds(tx *storage.Tx) error {
	expired, err := tx.ExpiredHolds(tx.Now().Add(-holdMemory))
	if err != nil {
		return err
	}
	for _, p := range expired {
		g, err := tx.GroupByID(p.GroupID)
		if err != nil {
			return err
		}
		if err := s.declineHeld(tx, g, p, byExpiry); err != nil {
			return err
		}
	}
	return nil
}
