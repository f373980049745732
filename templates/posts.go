package templates

import (
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

const (
	// postPageSize is how many threads one page of a group lists.
	postPageSize = 20
	// threadLimit bounds the replies one thread page shows.
	threadLimit = 300
)

// postView is a relayed post as a visitor reads it.
type postView struct {
	ID  int64
	URL string // its thread page here
	// Author and AuthorURL name who wrote it; both are empty for an
	// anonymous post, which the group published as its own.
	Author      string
	AuthorName  string
	AuthorURL   string
	Anonymous   bool
	Time        time.Time
	Warning     string
	Content     template.HTML
	Attachments []attachmentView
	Replies     int
}

// attachmentView is a media file of a post, shown as a link to where it
// lives: loading it in the page would tell its server who reads the group.
type attachmentView struct {
	URL   string
	Alt   string
	Image bool
}

func (p *Pages) postView(tx *storage.Tx, g storage.Group, post storage.Post, replies int) (postView, error) {
	v := postView{
		ID:        post.ID,
		URL:       p.iris.Group(g.Name) + "/posts/" + strconv.FormatInt(post.ID, 10),
		Anonymous: post.Anonymous,
		Time:      post.CreatedAt,
		Warning:   post.Summary,
		// Stored content was sanitized on arrival; it goes through the
		// policy again so that the page never depends on what an older
		// version stored.
		Content: template.HTML(activitypub.SanitizeHTML(post.Content)),
		Replies: replies,
	}
	if post.Anonymous {
		// Nothing of the member's own post is shown: its address and
		// its media would point at the author's server.
		return v, nil
	}
	v.AuthorURL = post.AuthorID
	a, err := tx.Actor(post.AuthorID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		v.Author = post.AuthorID
	case err != nil:
		return v, err
	default:
		v.Author, v.AuthorName = a.Handle(), activitypub.PlainText(a.Name)
	}
	v.Attachments = attachmentsOf(post)
	return v, nil
}

// attachmentsOf reads the media of the post from the activity it came in,
// when the post was embedded there.
func attachmentsOf(post storage.Post) []attachmentView {
	activity, err := activitypub.Decode(post.RawActivity)
	if err != nil || activity.Object == nil || activity.Object.Embedded == nil || activity.Object.ID != post.ObjectID {
		return nil
	}
	var out []attachmentView
	for _, a := range activity.Object.Embedded.Attachment {
		if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
			continue
		}
		out = append(out, attachmentView{
			URL:   a.URL,
			Alt:   activitypub.PlainText(a.Name),
			Image: a.Type == "Image" || strings.HasPrefix(a.MediaType, "image/"),
		})
	}
	return out
}

// threadPage is what thread.html shows.
type threadPage struct {
	frame
	groupCard
	Post    postView
	Replies []postView
}

// Thread shows one relayed post of a public group with the replies relayed
// under it, oldest first. Every post of a private group is "not found",
// as is any post that is not relayed, or was relayed to the members alone
// while the group was private.
func (p *Pages) Thread(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("post"), 10, 64)
	if err != nil || id <= 0 {
		p.notFound(w, r, "There is no such post here.")
		return
	}
	var page threadPage
	err = p.store.View(r.Context(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(r.PathValue("name"))
		if err != nil || g.Visibility != storage.Public {
			return errors.Join(err, storage.ErrNotFound)
		}
		post, err := tx.PostByID(id)
		if err != nil || post.GroupID != g.ID || post.State != storage.Relayed {
			return errors.Join(err, storage.ErrNotFound)
		}
		if shared, err := tx.SharedPublicly(post.ID); err != nil || !shared {
			return errors.Join(err, storage.ErrNotFound)
		}
		settings, err := tx.GroupPage(g.ID)
		if err != nil {
			return err
		}
		page.Indexable = settings.Indexable
		if page.groupCard, err = p.card(tx, g); err != nil {
			return err
		}
		replies, err := tx.ThreadReplies(post, threadLimit)
		if err != nil {
			return err
		}
		if page.Post, err = p.postView(tx, g, post, len(replies)); err != nil {
			return err
		}
		for _, reply := range replies {
			v, err := p.postView(tx, g, reply, 0)
			if err != nil {
				return err
			}
			page.Replies = append(page.Replies, v)
		}
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		p.notFound(w, r, "There is no such post here.")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.render(w, r, http.StatusOK, "thread.html", &page)
	}
}

// handle is what a visitor types as their fediverse address.
var handle = regexp.MustCompile(`^@?[A-Za-z0-9_.\-]{1,64}@[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$`)

// Follow answers the group page's "follow from your server" form: it finds
// the follow page of the visitor's own server through WebFinger and sends
// the visitor there, with the group filled in. It changes nothing here, so
// it is a GET and needs no form token.
func (p *Pages) Follow(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	account := strings.TrimSpace(r.URL.Query().Get("account"))
	fail := func(status int, message string) {
		page, err := p.groupPage(r.Context(), name, 0)
		page.Account, page.FollowError = account, message
		p.showGroup(w, r, status, page, err)
	}
	if !handle.MatchString(account) {
		fail(http.StatusBadRequest, "Type your fediverse address as @you@your.server.")
		return
	}
	if !p.follows.allow(p.fed.ClientAddress(r)) {
		fail(http.StatusTooManyRequests, "Too many look-ups from your address; please wait a few minutes.")
		return
	}
	target, err := p.fed.RemoteFollowURL(r.Context(), account, name)
	if err != nil {
		p.log.Info("remote follow failed", "group", name, "err", err)
		fail(http.StatusBadGateway, "Your server could not be asked where to follow from. "+
			"Search for the group's address in your app instead.")
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// maxIconAge is how long browsers and servers may keep an icon: its
// address changes with every upload.
const maxIconAge = 7 * 24 * time.Hour

// Icon serves a group's uploaded icon.
func (p *Pages) Icon(w http.ResponseWriter, r *http.Request) {
	var icon storage.Icon
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(r.PathValue("name"))
		if err != nil {
			return err
		}
		icon, err = tx.GroupIcon(g.ID)
		return err
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		p.log.Error("icon failed", "path", r.URL.Path, "err", err)
		http.Error(w, "icon unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", icon.MediaType)
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxIconAge.Seconds())))
	w.Write(icon.Data)
}
