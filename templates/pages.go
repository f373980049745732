package templates

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	Replies     storage.ReplyScope
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
		Replies:     g.Replies,
	}
	if c.DisplayName == "" {
		c.DisplayName = g.Name
	}
	// The CSP admits only https images and the instance's own, so an
	// http icon elsewhere would show broken.
	if strings.HasPrefix(g.IconURL, "https://") || strings.HasPrefix(g.IconURL, p.iris.Base()+"/") {
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
	frame
	Host        string
	Name        string
	Description string
	// NoGroups is true when the instance hosts no group at all, public or
	// private, so the page can tell the admin how to start.
	NoGroups bool
	Groups   []groupCard
	// Private lists the private groups the admin chose to name; the page
	// shows their name and how to ask to join, nothing more.
	Private []groupCard
}

// Home presents the instance and lists its public groups, or says how to
// create the first.
func (p *Pages) Home(w http.ResponseWriter, r *http.Request) {
	page := homePage{Host: p.iris.Host()}
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		profile, err := tx.InstanceProfile()
		if err != nil {
			return err
		}
		page.Name, page.Description = profile.Name, profile.Description
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		page.NoGroups = len(groups) == 0
		for _, g := range groups {
			if g.Visibility != storage.Public {
				settings, err := tx.GroupPage(g.ID)
				if err != nil {
					return err
				}
				if !settings.Listed {
					continue
				}
			}
			c, err := p.card(tx, g)
			if err != nil {
				return err
			}
			if c.Private {
				page.Private = append(page.Private, c)
			} else {
				page.Groups = append(page.Groups, c)
			}
		}
		return nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if page.Name == "" {
		page.Name = "Groups on " + page.Host
	}
	p.render(w, r, http.StatusOK, "home.html", &page)
}

// groupPage is what group.html shows.
type groupPage struct {
	frame
	groupCard
	Rules      string
	Moderators []string
	// Pinned are the posts the group pinned, shown first on the first
	// page of posts.
	Pinned []postView
	Posts  []postView
	// Older is the address of the next page of older posts, if any.
	Older string
	// Account and FollowError answer a follow form that did not work.
	Account     string
	FollowError string
}

// Group shows one group's profile, how to join it from a fediverse account
// and, for a public group, its recent posts. A private group shows its
// description and how to ask to join only.
func (p *Pages) Group(w http.ResponseWriter, r *http.Request) {
	before, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	if r.URL.Query().Has("before") && (err != nil || before <= 0) {
		p.render(w, r, http.StatusBadRequest, "error.html", &errorPage{Title: "Bad request", Message: "That page of posts does not exist."})
		return
	}
	page, err := p.groupPage(r.Context(), r.PathValue("name"), before)
	p.showGroup(w, r, http.StatusOK, page, err)
}

func (p *Pages) showGroup(w http.ResponseWriter, r *http.Request, status int, page groupPage, err error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		p.notFound(w, r, "There is no group called "+r.PathValue("name")+" here.")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.render(w, r, status, "group.html", &page)
	}
}

// groupPage gathers what a visitor may see of the group called name, with
// the page of posts older than the post id before (0: the newest).
func (p *Pages) groupPage(ctx context.Context, name string, before int64) (groupPage, error) {
	var page groupPage
	err := p.store.View(ctx, func(tx *storage.Tx) error {
		g, err := tx.GroupByName(name)
		if err != nil {
			return err
		}
		if page.groupCard, err = p.card(tx, g); err != nil {
			return err
		}
		settings, err := tx.GroupPage(g.ID)
		if err != nil {
			return err
		}
		page.Rules = settings.Rules
		if page.Private {
			// The moderators of a private group are people in it, and
			// its posts are for its members.
			return nil
		}
		page.Indexable = settings.Indexable
		if settings.ShowModerators {
			if page.Moderators, err = moderatorHandles(tx, g.ID); err != nil {
				return err
			}
		}
		pinned := map[int64]bool{}
		if before == 0 {
			if page.Pinned, err = p.pinnedViews(tx, g); err != nil {
				return err
			}
			for _, v := range page.Pinned {
				pinned[v.ID] = true
			}
		}
		threads, err := tx.RelayedThreads(g.ID, before, postPageSize+1)
		if err != nil {
			return err
		}
		if len(threads) > postPageSize {
			threads = threads[:postPageSize]
			page.Older = p.iris.Group(g.Name) + "?before=" + strconv.FormatInt(threads[postPageSize-1].ID, 10)
		}
		for _, t := range threads {
			if pinned[t.ID] {
				continue
			}
			v, err := p.postView(tx, g, t.Post, t.Replies)
			if err != nil {
				return err
			}
			page.Posts = append(page.Posts, v)
		}
		return nil
	})
	return page, err
}

// pinnedViews are the posts g pinned that it shared publicly, the latest
// pinned first.
func (p *Pages) pinnedViews(tx *storage.Tx, g storage.Group) ([]postView, error) {
	posts, err := tx.PinnedPosts(g.ID)
	if err != nil {
		return nil, err
	}
	var views []postView
	for _, post := range posts {
		shared, err := tx.SharedPublicly(post.ID)
		if err != nil {
			return nil, err
		}
		if !shared {
			continue
		}
		replies, err := tx.ThreadReplies(post, threadLimit)
		if err != nil {
			return nil, err
		}
		v, err := p.postView(tx, g, post, len(replies))
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

func moderatorHandles(tx *storage.Tx, groupID int64) ([]string, error) {
	ids, err := tx.Moderators(groupID)
	if err != nil {
		return nil, err
	}
	handles := make([]string, 0, len(ids))
	for _, id := range ids {
		a, err := tx.Actor(id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			handles = append(handles, id)
		case err != nil:
			return nil, err
		default:
			handles = append(handles, a.Handle())
		}
	}
	return handles, nil
}
