package templates

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hearth-social/hearth/storage"
)

// groupCard is one group as a visitor may see it. It holds nothing a
// private group keeps to its members.
type groupCard struct {
	Name        string
	DisplayName string
	Summary     string
	IconURL     string
	Handle      string
	URL         string
	Private     bool
	Join        storage.JoinPolicy
	Posting     storage.PostingPolicy
	ShowMembers bool
	Members     int
}

func (p *Pages) card(tx *storage.Tx, g storage.Group) (groupCard, error) {
	c := groupCard{
		Name:        g.Name,
		DisplayName: g.DisplayName,
		Summary:     g.Summary,
		Handle:      "@" + g.Name + "@" + p.iris.Host(),
		URL:         p.iris.Group(g.Name),
		Private:     g.Visibility == storage.Private,
		Join:        g.Join,
		Posting:     g.Posting,
	}
	if c.DisplayName == "" {
		c.DisplayName = g.Name
	}
	// The CSP admits only https images, so an http icon would show broken.
	if strings.HasPrefix(g.IconURL, "https://") {
		c.IconURL = g.IconURL
	}
	if c.Private || g.HideMemberCount {
		return c, nil
	}
	n, err := tx.CountMembers(g.ID)
	c.ShowMembers, c.Members = true, n
	return c, err
}

// homePage is what home.html shows.
type homePage struct {
	Host string
	// NoGroups is true when the instance hosts no group at all, public or
	// private, so the page can tell the admin how to start.
	NoGroups bool
	Groups   []groupCard
}

// Home lists the instance's public groups, or says how to create the first.
func (p *Pages) Home(w http.ResponseWriter, r *http.Request) {
	page := homePage{Host: p.iris.Host()}
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		page.NoGroups = len(groups) == 0
		for _, g := range groups {
			if g.Visibility != storage.Public {
				continue
			}
			c, err := p.card(tx, g)
			if err != nil {
				return err
			}
			page.Groups = append(page.Groups, c)
		}
		return nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "home.html", page)
}

// Group shows one group's profile and how to join it from a fediverse
// account. A private group shows its description only.
func (p *Pages) Group(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var c groupCard
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(name)
		if err != nil {
			return err
		}
		c, err = p.card(tx, g)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		p.notFound(w, r, "There is no group called "+name+" here.")
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "group.html", c)
}
