package federation

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// activityContentType is what every ActivityPub document is served as.
// Mastodon accepts it with or without the charset; others want it named.
const activityContentType = activitypub.ContentType + "; charset=utf-8"

// WebFinger answers /.well-known/webfinger for the groups and the instance
// actor. A missing or malformed resource is 400; a well-formed one we have
// nothing for (another host, an unknown name) is 404.
func (s *Service) WebFinger(w http.ResponseWriter, r *http.Request) error {
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
		g, err := s.Group(r.Context(), username)
		if err != nil {
			return err
		}
		jrd = activitypub.NewGroupJRD(s.iris, g.Name, g.IconURL)
	}
	return writeJSON(w, activitypub.JRDContentType+"; charset=utf-8", jrd.FilterRels(q["rel"]))
}

// HostMeta serves the XML host-meta document, which points at WebFinger.
func (s *Service) HostMeta(w http.ResponseWriter, r *http.Request) error {
	body, err := xml.Marshal(activitypub.NewHostMeta(s.iris))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", activitypub.HostMetaContentType+"; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}

// HostMetaJSON serves the JSON form of host-meta.
func (s *Service) HostMetaJSON(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, activitypub.JRDContentType+"; charset=utf-8", activitypub.NewHostMetaLinks(s.iris))
}

// NodeInfoDiscovery serves /.well-known/nodeinfo.
func (s *Service) NodeInfoDiscovery(w http.ResponseWriter, r *http.Request) error {
	doc := activitypub.NodeInfoDiscovery{Links: []activitypub.NodeInfoLink{
		{Rel: activitypub.NodeInfoSchema21, Href: s.iris.NodeInfo("2.1")},
		{Rel: activitypub.NodeInfoSchema20, Href: s.iris.NodeInfo("2.0")},
	}}
	return writeJSON(w, "application/json; charset=utf-8", doc)
}

// NodeInfo serves the NodeInfo document of one schema version. Anyone may
// fetch it, again and again, so it counts only what the groups show anyone
// already: the members of public groups that show their count, and the posts
// of public groups.
func (s *Service) NodeInfo(version string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var stats activitypub.NodeStats
		err := s.store.View(r.Context(), func(tx *storage.Tx) error {
			var err error
			if stats.Members, err = tx.CountPublicMembers(); err != nil {
				return err
			}
			stats.Posts, err = tx.CountPublicPosts()
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

// InstanceActor serves the Application actor that signs the instance's own
// fetches; peers fetch it to check those signatures.
func (s *Service) InstanceActor(w http.ResponseWriter, r *http.Request) error {
	return writeActivity(w, activitypub.NewServiceActor(s.iris, s.instancePub))
}

// GroupActor serves the Group actor that peers follow and read the key of.
func (s *Service) GroupActor(w http.ResponseWriter, r *http.Request) error {
	g, err := s.groupOf(r, nil)
	if err != nil {
		return err
	}
	return writeActivity(w, s.groupActorDocument(g))
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
