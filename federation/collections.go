package federation

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// outboxPageSize is how many activities one outbox page holds.
const outboxPageSize = 20

// OutboxCollection serves the group's outbox: a count, and pages of what the group
// sent, newest first. A private group shows its pages only to a signed
// fetch by a member or a member's server.
func (s *Service) OutboxCollection(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	wantPage := q.Has("page") || q.Has("before")
	var before time.Time
	if v := q.Get("before"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return &Error{Status: http.StatusBadRequest, Reason: "before must be a positive number of milliseconds", Err: err}
		}
		before = time.UnixMilli(ms)
	}
	var total int
	var items []storage.Activity
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		if total, err = tx.CountOutbox(g.ID); err != nil {
			return err
		}
		if wantPage && g.Visibility == storage.Public {
			// One more than a page tells whether another page follows.
			items, err = tx.Outbox(g.ID, before, outboxPageSize+1)
		}
		return err
	})
	if err != nil {
		return err
	}
	id := s.iris.GroupOutbox(g.Name)
	private := g.Visibility != storage.Public
	switch {
	case private && wantPage:
		if items, err = s.privateOutbox(r, g, before); err != nil {
			return err
		}
	case private:
		// Even how much a private group posts is for its members.
		member, err := s.readsAsMember(r, g)
		if err != nil {
			return err
		}
		if !member {
			return writeActivity(w, activitypub.NewHiddenCollection(id, 0, false))
		}
		return writeActivity(w, activitypub.NewPagedCollection(id, total, outboxPageURL(id, time.Time{})))
	case !wantPage:
		return writeActivity(w, activitypub.NewPagedCollection(id, total, outboxPageURL(id, time.Time{})))
	}
	page, next := outboxPage(items, outboxPageSize)
	bodies := make([]json.RawMessage, 0, len(page))
	for _, a := range page {
		// A group made public later keeps what it sent its members alone.
		if private || !membersOnly(a.Body, s.iris.GroupFollowers(g.Name)) {
			bodies = append(bodies, a.Body)
		}
	}
	var nextURL string
	if !next.IsZero() {
		nextURL = outboxPageURL(id, next)
	}
	return writeActivity(w, activitypub.NewOrderedCollectionPage(outboxPageURL(id, before), id, bodies, nextURL))
}

// outboxPage cuts items (newest first, up to limit+1 of them) to one page and
// returns the cursor of the next page, zero when this is the last. Storage
// pages by time in milliseconds, and activities made in one transaction
// share a timestamp; a page must not end in the middle of such a run, or
// the rest of it would fall between two pages. So the run is moved whole
// to the next page, unless it fills the entire page.
func outboxPage(items []storage.Activity, limit int) ([]storage.Activity, time.Time) {
	if len(items) <= limit {
		return items, time.Time{}
	}
	page := items[:limit]
	last := page[limit-1].CreatedAt
	if !items[limit].CreatedAt.Equal(last) {
		return page, last
	}
	cut := limit
	for cut > 0 && page[cut-1].CreatedAt.Equal(last) {
		cut--
	}
	if cut == 0 {
		return page, last
	}
	return page[:cut], last.Add(time.Millisecond)
}

// outboxPageURL is the URL of the outbox page of activities older than
// before, or of the newest page when before is zero.
func outboxPageURL(outbox string, before time.Time) string {
	v := url.Values{"page": {"true"}}
	if !before.IsZero() {
		v.Set("before", strconv.FormatInt(before.UnixMilli(), 10))
	}
	return outbox + "?" + v.Encode()
}

// privateOutbox loads a page of a private group's outbox for a member, a
// moderator or a server where a member lives, proven by a signed GET.
func (s *Service) privateOutbox(r *http.Request, g storage.Group, before time.Time) ([]storage.Activity, error) {
	reader, err := s.reader(r)
	if err != nil {
		return nil, err
	}
	var items []storage.Activity
	err = s.store.View(r.Context(), func(tx *storage.Tx) error {
		allowed, err := s.mayRead(tx, g, reader, []string{s.iris.GroupFollowers(g.Name)})
		if err != nil {
			return err
		}
		if !allowed {
			return errMembersOnly
		}
		items, err = tx.Outbox(g.ID, before, outboxPageSize+1)
		return err
	})
	return items, err
}

// membersOnly reports whether an activity the group sent is addressed to
// its members and not to everyone.
func membersOnly(body []byte, followers string) bool {
	var audience struct {
		To []string `json:"to"`
		CC []string `json:"cc"`
	}
	if json.Unmarshal(body, &audience) != nil {
		return true
	}
	all := append(audience.To, audience.CC...)
	return slices.Contains(all, followers) && !slices.Contains(all, activitypub.Public)
}

// FollowersCollection serves the member count and never the members; with the
// group's member count hidden, not even that. A private group shows its
// count only to a signed fetch by a member, a moderator or a member's
// server, as its web page shows it to nobody.
func (s *Service) FollowersCollection(w http.ResponseWriter, r *http.Request) error {
	var members int
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		if g.HideMemberCount {
			return nil
		}
		var err error
		members, err = tx.CountMembers(g.ID)
		return err
	})
	if err != nil {
		return err
	}
	showCount := !g.HideMemberCount
	if showCount && g.Visibility == storage.Private {
		if showCount, err = s.readsAsMember(r, g); err != nil {
			return err
		}
	}
	if !showCount {
		members = 0
	}
	return writeActivity(w, activitypub.NewHiddenCollection(s.iris.GroupFollowers(g.Name), members, showCount))
}

// FeaturedCollection serves the group's pinned posts, the latest pinned
// first: Mastodon shows on the group's profile those the group wrote. A
// private group shows them only to a signed fetch by a member, a moderator
// or a member's server.
func (s *Service) FeaturedCollection(w http.ResponseWriter, r *http.Request) error {
	var pinned []storage.Post
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		pinned, err = tx.PinnedPosts(g.ID)
		return err
	})
	if err != nil {
		return err
	}
	if g.Visibility == storage.Private {
		member, err := s.readsAsMember(r, g)
		if err != nil {
			return err
		}
		if !member {
			pinned = nil
		}
	}
	items := make([]string, 0, len(pinned))
	for _, p := range pinned {
		items = append(items, address(p))
	}
	return writeActivity(w, activitypub.NewOrderedCollection(s.iris.GroupFeatured(g.Name), items))
}

// ModeratorsCollection serves the actor ids of the group's moderators; Lemmy reads it
// through the actor's attributedTo to know who may moderate. The moderators
// of a private group are people in it, so they are named only to those who
// may read its posts.
func (s *Service) ModeratorsCollection(w http.ResponseWriter, r *http.Request) error {
	var mods []string
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		mods, err = tx.Moderators(g.ID)
		return err
	})
	if err != nil {
		return err
	}
	if g.Visibility == storage.Private {
		if err := s.authorizeRead(r, g, []string{s.iris.GroupFollowers(g.Name)}); err != nil {
			return err
		}
	}
	return writeActivity(w, activitypub.NewOrderedCollection(s.iris.GroupModerators(g.Name), mods))
}
