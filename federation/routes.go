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
	r.Get("/g/{name}", func(w http.ResponseWriter, req *http.Request) {
		pages.Group.ServeHTTP(w, req)
	})
}
