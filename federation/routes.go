package federation

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Pages are the web pages that share a URL with a federated document: a
// browser asking for a group's id gets the page, a server gets the actor.
type Pages struct {
	Group http.Handler
}

// Routes mounts every federated route on r.
func (s *Service) Routes(r chi.Router, pages Pages) {
	// Discovery. Browser-based tools read these from other origins, as they
	// do from Mastodon, so they allow any origin.
	getAndHead(r, "/.well-known/webfinger", anyOrigin(s.handle(s.webFinger)))
	getAndHead(r, "/.well-known/host-meta", anyOrigin(s.handle(s.hostMeta)))
	getAndHead(r, "/.well-known/host-meta.json", anyOrigin(s.handle(s.hostMetaJSON)))
	getAndHead(r, "/.well-known/nodeinfo", anyOrigin(s.handle(s.nodeInfoDiscovery)))
	getAndHead(r, nodeInfoPath("2.1"), anyOrigin(s.handle(s.nodeInfo("2.1"))))
	getAndHead(r, nodeInfoPath("2.0"), anyOrigin(s.handle(s.nodeInfo("2.0"))))

	// Actors and their collections.
	getAndHead(r, "/actor", s.handle(s.instanceActor))
	getAndHead(r, "/g/{name}", s.groupActorOrPage(pages.Group))
	getAndHead(r, "/g/{name}/outbox", s.handle(s.outbox))
	getAndHead(r, "/g/{name}/followers", s.handle(s.followers))
	getAndHead(r, "/g/{name}/featured", s.handle(s.featured))
	getAndHead(r, "/g/{name}/moderators", s.handle(s.moderators))
	s.objectRoutes(r)

	s.inboxRoutes(r)
}

// getAndHead routes both GET and HEAD to h; chi matches HEAD only where it
// is asked to, and peers probe documents with HEAD before fetching them.
func getAndHead(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

// anyOrigin lets scripts on any web origin read the response.
func anyOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h(w, r)
	}
}
