package templates

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// postsListed bounds the shared posts a group's Posts tab lists; an older
// one is acted on by its address.
const postsListed = 50

// postRow is a post the group shares, as the console lists it.
type postRow struct {
	ID int64
	// Address is how the federation service names the post: the group's
	// copy, or the member's post it boosted.
	Address string
	// Link is where to read it: the member's web page, or the address.
	Link string
	// Author and AuthorURL are empty for an anonymous post: the console
	// does not name who wrote one.
	Author    string
	AuthorURL string
	Time      time.Time
	Warning   string
	Content   template.HTML
	Pinned    bool
}

func postRowOf(tx *storage.Tx, post storage.Post) (postRow, error) {
	row := postRow{ID: post.ID, Address: post.ObjectID, Time: post.CreatedAt, Warning: post.Summary,
		Content: template.HTML(activitypub.SanitizeHTML(post.Content)), Pinned: !post.PinnedAt.IsZero()}
	if post.CopyID != "" {
		row.Address = post.CopyID
	}
	row.Link = row.Address
	if post.Anonymous {
		return row, nil
	}
	if post.URL != "" {
		row.Link = post.URL
	}
	a, err := accountOf(tx, post.AuthorID, time.Time{})
	row.Author, row.AuthorURL = a.Handle, a.ID
	return row, err
}

// postItem is one post of the Posts tab with what its forms need.
type postItem struct {
	Group string
	CSRF  string
	Post  postRow
}

func init() {
	funcs["postItem"] = func(page *postsPage, post postRow) postItem {
		return postItem{Group: page.Name, CSRF: page.CSRF, Post: post}
	}
}

type postsPage struct {
	groupTab
	Pinned []postRow
	Posts  []postRow
	// Capped is set when older posts than those listed are shared.
	Capped bool
	// Post and Reason are what was typed in the form that failed.
	Post   string
	Reason string
}

// Posts lists the posts a group shares, the pinned ones first, to remove,
// pin or unpin.
func (p *Pages) Posts(w http.ResponseWriter, r *http.Request) {
	p.posts(w, r, http.StatusOK, "", "")
}

func (p *Pages) posts(w http.ResponseWriter, r *http.Request, status int, problem, post string) {
	page := postsPage{Post: post}
	if problem != "" {
		page.Reason = r.PostFormValue("reason")
	}
	var err error
	page.groupTab, err = p.consoleGroup(r, "posts", func(tx *storage.Tx, g storage.Group) error {
		pinned, err := tx.PinnedPosts(g.ID)
		if err != nil {
			return err
		}
		for _, post := range pinned {
			row, err := postRowOf(tx, post)
			if err != nil {
				return err
			}
			page.Pinned = append(page.Pinned, row)
		}
		recent, err := tx.Posts(g.ID, storage.Relayed, postsListed)
		if err != nil {
			return err
		}
		page.Capped = len(recent) == postsListed
		for _, post := range recent {
			if !post.PinnedAt.IsZero() {
				continue
			}
			row, err := postRowOf(tx, post)
			if err != nil {
				return err
			}
			page.Posts = append(page.Posts, row)
		}
		return nil
	})
	page.Error = problem
	p.showTab(w, r, status, "admin_posts.html", &page, err)
}

// ChangePosts removes, pins or unpins a post the group shares.
func (p *Pages) ChangePosts(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"remove-post": p.removePost,
		"pin":         func(r *http.Request, group, post string) error { return p.fed.PinPost(r.Context(), group, post) },
		"unpin":       func(r *http.Request, group, post string) error { return p.fed.UnpinPost(r.Context(), group, post) },
	}
	p.act(w, r, actions, "post", "/posts", p.posts)
}

// removePost takes a post back from everywhere the group sent it, and
// tells its author the posted reason.
func (p *Pages) removePost(r *http.Request, group, post string) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if !validText(reason, maxReason) {
		return errors.New("the reason is too long")
	}
	return p.fed.RemovePost(r.Context(), group, post, reason)
}
