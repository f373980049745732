package federation

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// outboxPageSize is how many activities one outbox page holds.
const outboxPageSize = 20

// activityContentType is what every ActivityPub document is served as.
// Mastodon accepts it with or without the charset; others want it named.
const activityContentType = activitypub.ContentType + "; charset=utf-8"

var errNoSuchGroup = &Error{Status: http.StatusNotFound, Reason: "no such group"}

// webFinger answers /.well-known/webfinger for the groups and the instance
// actor. A missing or malformed resource is 400; a well-formed one we have
// nothing for (another host, an unknown name) is 404.
func (s *Service) webFinger(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	username, err := activitypub.LocalUsername(s.iris, q.Get("resource"))
	switch {
	case errors.Is(err, activitypub.ErrMalformedResource):
		return &Error{Status: http.StatusBadRequest, Reason: "resource must be acct:name@host or an actor URL", Err: err}
	case errors.Is(err, activitypub.ErrForeignResource):
		return &Error{Status: http.StatusNotFound, Reason: "no such actor here", Err: err}
	case err != nil:
		return err
	}
	var jrd activitypub.JRD
	if username == s.iris.Host() {
		jrd = activitypub.NewServiceJRD(s.iris)
	} else {
		if ValidateGroupName(username) != nil {
			return errNoSuchGroup
		}
		var g storage.Group
		err := s.store.View(r.Context(), func(tx *storage.Tx) error {
			var err error
			g, err = findGroup(tx, username)
			return err
		})
		if err != nil {
			return err
		}
		jrd = activitypub.NewGroupJRD(s.iris, g.Name, g.IconURL)
	}
	return writeJSON(w, activitypub.JRDContentType+"; charset=utf-8", jrd.FilterRels(q["rel"]))
}

// hostMeta serves the XML host-meta document, which points at WebFinger.
func (s *Service) hostMeta(w http.ResponseWriter, r *http.Request) error {
	body, err := xml.Marshal(activitypub.NewHostMeta(s.iris))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", activitypub.HostMetaContentType+"; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}

// hostMetaJSON serves the JSON form of host-meta.
func (s *Service) hostMetaJSON(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, activitypub.JRDContentType+"; charset=utf-8", activitypub.NewHostMetaLinks(s.iris))
}

// nodeInfoPath is where the NodeInfo document of a schema version lives.
func nodeInfoPath(version string) string { return "/nodeinfo/" + version }

// nodeInfoDiscovery serves /.well-known/nodeinfo.
func (s *Service) nodeInfoDiscovery(w http.ResponseWriter, r *http.Request) error {
	doc := activitypub.NodeInfoDiscovery{Links: []activitypub.NodeInfoLink{
		{Rel: activitypub.NodeInfoSchema21, Href: s.iris.Base() + nodeInfoPath("2.1")},
		{Rel: activitypub.NodeInfoSchema20, Href: s.iris.Base() + nodeInfoPath("2.0")},
	}}
	return writeJSON(w, "application/json; charset=utf-8", doc)
}

// nodeInfo serves the NodeInfo document of one schema version.
func (s *Service) nodeInfo(version string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var stats activitypub.NodeStats
		err := s.store.View(r.Context(), func(tx *storage.Tx) error {
			var err error
			if stats.Members, err = tx.CountAllMembers(); err != nil {
				return err
			}
			stats.Posts, err = tx.CountPosts()
			return err
		})
		if err != nil {
			return err
		}
		doc := activitypub.NewNodeInfo(s.iris, version, s.cfg.Version, stats)
		w.Header().Set("Cache-Control", "max-age=1800")
		return writeJSON(w, activitypub.NodeInfoContentType(version), doc)
	}
}

// groupActorOrPage serves the group's id: the actor to a peer, the web page
// to a browser. Without a page handler everyone gets the actor. A name no
// group could have is refused here, so neither side looks it up.
func (s *Service) groupActorOrPage(page http.Handler) http.HandlerFunc {
	actor := s.handle(s.groupActor)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if ValidateGroupName(chi.URLParam(r, "name")) != nil {
			writeError(w, r, s.log, errNoSuchGroup)
			return
		}
		if page != nil && !activitypub.AcceptsActivityPub(r.Header.Get("Accept")) {
			page.ServeHTTP(w, r)
			return
		}
		actor(w, r)
	}
}

func (s *Service) groupActor(w http.ResponseWriter, r *http.Request) error {
	g, err := s.groupOf(r, nil)
	if err != nil {
		return err
	}
	return writeActivity(w, s.groupActorDocument(g))
}

// instanceActor serves the Application actor that signs the instance's own
// fetches; peers fetch it to check those signatures.
func (s *Service) instanceActor(w http.ResponseWriter, r *http.Request) error {
	return writeActivity(w, activitypub.NewServiceActor(s.iris, s.instancePub))
}

// outbox serves the group's outbox: a count, and pages of what the group
// sent, newest first. A private group shows its pages only to a signed
// fetch by a member or a member's server.
func (s *Service) outbox(w http.ResponseWriter, r *http.Request) error {
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

// followers serves the member count and never the members; with the
// group's member count hidden, not even that. A private group shows its
// count only to a signed fetch by a member, a moderator or a member's
// server, as its web page shows it to nobody.
func (s *Service) followers(w http.ResponseWriter, r *http.Request) error {
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

// readsAsMember reports whether the request is a signed fetch that may read
// what the group addresses to its members. Refusals are an answer here, not
// an error: whoever is refused is shown less.
func (s *Service) readsAsMember(r *http.Request, g storage.Group) (bool, error) {
	err := s.authorizeRead(r, g, []string{s.iris.GroupFollowers(g.Name)})
	var refused *Error
	if errors.As(err, &refused) {
		return false, nil
	}
	return err == nil, err
}

// featured serves the group's pinned posts; none are pinned yet.
func (s *Service) featured(w http.ResponseWriter, r *http.Request) error {
	g, err := s.groupOf(r, nil)
	if err != nil {
		return err
	}
	return writeActivity(w, activitypub.NewOrderedCollection(s.iris.GroupFeatured(g.Name), []string{}))
}

// moderators serves the actor ids of the group's moderators; Lemmy reads it
// through the actor's attributedTo to know who may moderate. The moderators
// of a private group are people in it, so they are named only to those who
// may read its posts.
func (s *Service) moderators(w http.ResponseWriter, r *http.Request) error {
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

// groupOf loads the group named in the request's URL and, when more is set,
// runs it in the same read transaction. A name that could never be a group's
// is 404 without a query.
func (s *Service) groupOf(r *http.Request, more func(*storage.Tx, storage.Group) error) (storage.Group, error) {
	name := chi.URLParam(r, "name")
	if ValidateGroupName(name) != nil {
		return storage.Group{}, errNoSuchGroup
	}
	var g storage.Group
	err := s.store.View(r.Context(), func(tx *storage.Tx) error {
		var err error
		if g, err = findGroup(tx, name); err != nil || more == nil {
			return err
		}
		return more(tx, g)
	})
	return g, err
}

// findGroup returns the group called name, or a 404 error when there is none.
func findGroup(tx *storage.Tx, name string) (storage.Group, error) {
	g, err := tx.GroupByName(name)
	if errors.Is(err, storage.ErrNotFound) {
		return g, errNoSuchGroup
	}
	return g, err
}

// writeActivity sends v as an ActivityPub document. Peers must not reuse a
// cached copy: a changed key or profile has to reach them on the next fetch.
func writeActivity(w http.ResponseWriter, v any) error {
	w.Header().Set("Cache-Control", "max-age=0, private")
	return writeJSON(w, activityContentType, v)
}

// writeJSON encodes v before writing anything, so an encoding failure can
// still become a clean 500.
func writeJSON(w http.ResponseWriter, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(body)
	return nil
}
