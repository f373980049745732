package activitypub

import (
	"encoding/json"
	"html"
	"strings"
	"time"
)

// ActivityStreamsContext is the JSON-LD context every document we serve names.
const ActivityStreamsContext = "https://www.w3.org/ns/activitystreams"

// SecurityContext defines publicKey and publicKeyPem. Strict JSON-LD peers
// find no key on an actor whose @context lacks it.
const SecurityContext = "https://w3id.org/security/v1"

// actorContext is the @context of the actors we serve: ActivityStreams, the
// security vocabulary, and the extension terms Mastodon and Lemmy read. It is
// built per document so no caller can alter a shared value.
func actorContext() []any {
	return []any{
		ActivityStreamsContext,
		SecurityContext,
		map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"toot":                      "http://joinmastodon.org/ns#",
			"discoverable":              "toot:discoverable",
			"indexable":                 "toot:indexable",
			"featured":                  map[string]string{"@id": "toot:featured", "@type": "@id"},
			"lemmy":                     "https://join-lemmy.org/ns#",
			"postingRestrictedToMods":   "lemmy:postingRestrictedToMods",
		},
	}
}

// PublicKeyDoc is the key block of an actor we serve.
type PublicKeyDoc struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPEM string `json:"publicKeyPem"`
}

// EndpointsDoc names the instance-wide inbox, so a server with many members
// delivers once rather than once per member.
type EndpointsDoc struct {
	SharedInbox string `json:"sharedInbox"`
}

// ImageDoc is an avatar.
type ImageDoc struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// GroupActor is the ActivityPub document of one hosted group.
type GroupActor struct {
	Context                   []any        `json:"@context"`
	ID                        string       `json:"id"`
	Type                      string       `json:"type"`
	PreferredUsername         string       `json:"preferredUsername"`
	Name                      string       `json:"name"`
	Summary                   string       `json:"summary,omitempty"`
	Icon                      *ImageDoc    `json:"icon,omitempty"`
	URL                       string       `json:"url"`
	Inbox                     string       `json:"inbox"`
	Outbox                    string       `json:"outbox"`
	Followers                 string       `json:"followers"`
	Featured                  string       `json:"featured"`
	AttributedTo              string       `json:"attributedTo"`
	Endpoints                 EndpointsDoc `json:"endpoints"`
	PublicKey                 PublicKeyDoc `json:"publicKey"`
	ManuallyApprovesFollowers bool         `json:"manuallyApprovesFollowers"`
	Discoverable              bool         `json:"discoverable"`
	Indexable                 bool         `json:"indexable"`
	PostingRestrictedToMods   bool         `json:"postingRestrictedToMods"`
	Published                 string       `json:"published"`
}

// GroupProfile is what a group actor is built from, as plain values.
type GroupProfile struct {
	Name         string
	DisplayName  string // empty means the name
	Summary      string // plain text; paragraphs separated by blank lines
	IconURL      string
	PublicKeyPEM string
	// Listed groups may appear in directories; unlisted (private) ones do not.
	Listed bool
	// ApprovesMembers is true when a follow waits for a moderator or is refused.
	ApprovesMembers bool
	// ModeratorsOnly is true when only moderators may post through the group.
	ModeratorsOnly bool
	Created        time.Time
}

// NewGroupActor builds the actor document of the group p describes. The page
// a person reads (url) is the actor id itself: the server answers a browser
// with HTML and a peer with this document.
func NewGroupActor(iris IRIs, p GroupProfile) GroupActor {
	id := iris.Group(p.Name)
	name := p.DisplayName
	if name == "" {
		name = p.Name
	}
	var icon *ImageDoc
	if p.IconURL != "" {
		icon = &ImageDoc{Type: "Image", URL: p.IconURL}
	}
	return GroupActor{
		Context:           actorContext(),
		ID:                id,
		Type:              "Group",
		PreferredUsername: p.Name,
		Name:              name,
		Summary:           plainTextToHTML(p.Summary),
		Icon:              icon,
		URL:               id,
		Inbox:             iris.GroupInbox(p.Name),
		Outbox:            iris.GroupOutbox(p.Name),
		Followers:         iris.GroupFollowers(p.Name),
		Featured:          iris.GroupFeatured(p.Name),
		AttributedTo:      iris.GroupModerators(p.Name),
		Endpoints:         EndpointsDoc{SharedInbox: iris.SharedInbox()},
		PublicKey: PublicKeyDoc{
			ID:           iris.GroupKey(p.Name),
			Owner:        id,
			PublicKeyPEM: p.PublicKeyPEM,
		},
		ManuallyApprovesFollowers: p.ApprovesMembers,
		Discoverable:              p.Listed,
		// Support groups stay out of full-text search whatever else is set.
		Indexable:               false,
		PostingRestrictedToMods: p.ModeratorsOnly,
		Published:               p.Created.UTC().Format(time.RFC3339),
	}
}

// ServiceActor is the instance's own actor. It signs requests made for no
// particular group and follows no one.
type ServiceActor struct {
	Context                   []any        `json:"@context"`
	ID                        string       `json:"id"`
	Type                      string       `json:"type"`
	PreferredUsername         string       `json:"preferredUsername"`
	Name                      string       `json:"name"`
	Inbox                     string       `json:"inbox"`
	Endpoints                 EndpointsDoc `json:"endpoints"`
	PublicKey                 PublicKeyDoc `json:"publicKey"`
	ManuallyApprovesFollowers bool         `json:"manuallyApprovesFollowers"`
	Discoverable              bool         `json:"discoverable"`
	Indexable                 bool         `json:"indexable"`
}

// NewServiceActor builds the instance actor. Its username is the host, as
// Mastodon names its own instance actor, so acct:host@host finds it.
func NewServiceActor(iris IRIs, publicKeyPEM string) ServiceActor {
	id := iris.InstanceActor()
	return ServiceActor{
		Context:           actorContext(),
		ID:                id,
		Type:              "Application",
		PreferredUsername: iris.Host(),
		Name:              iris.Host(),
		// Anything addressed to the instance goes through the shared inbox.
		Inbox:     iris.SharedInbox(),
		Endpoints: EndpointsDoc{SharedInbox: iris.SharedInbox()},
		PublicKey: PublicKeyDoc{
			ID:           iris.InstanceKey(),
			Owner:        id,
			PublicKeyPEM: publicKeyPEM,
		},
		ManuallyApprovesFollowers: true,
	}
}

// plainTextToHTML turns text typed by a moderator into the HTML a bio is
// published as: everything escaped, blank lines separating paragraphs and
// single line breaks kept as <br>.
func plainTextToHTML(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i, line := range lines {
			lines[i] = html.EscapeString(strings.TrimSpace(line))
		}
		b.WriteString("<p>")
		b.WriteString(strings.Join(lines, "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}

// OrderedCollection lists all of its items inline. orderedItems is always
// present, empty or not: Lemmy refuses a moderators or featured collection
// without it.
type OrderedCollection struct {
	Context      string `json:"@context"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	TotalItems   int    `json:"totalItems"`
	OrderedItems any    `json:"orderedItems"`
}

// NewOrderedCollection builds a collection holding items in the given order.
func NewOrderedCollection[T any](id string, items []T) OrderedCollection {
	if items == nil {
		items = []T{}
	}
	return OrderedCollection{
		Context:      ActivityStreamsContext,
		ID:           id,
		Type:         "OrderedCollection",
		TotalItems:   len(items),
		OrderedItems: items,
	}
}

// PagedCollection is an ordered collection whose items are served page by
// page, starting at First. Without First it tells only how many items exist.
type PagedCollection struct {
	Context    string `json:"@context"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems int    `json:"totalItems"`
	First      string `json:"first,omitempty"`
}

// NewPagedCollection builds the entry document of a paged collection; first
// is empty when the items are not shown to the requester.
func NewPagedCollection(id string, total int, first string) PagedCollection {
	return PagedCollection{
		Context:    ActivityStreamsContext,
		ID:         id,
		Type:       "OrderedCollection",
		TotalItems: total,
		First:      first,
	}
}

// OrderedCollectionPage is one page of a paged collection, newest first.
type OrderedCollectionPage struct {
	Context      string            `json:"@context"`
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	PartOf       string            `json:"partOf"`
	Next         string            `json:"next,omitempty"`
	OrderedItems []json.RawMessage `json:"orderedItems"`
}

// NewOrderedCollectionPage builds page id of collection partOf holding items
// as stored; next is empty on the last page.
func NewOrderedCollectionPage(id, partOf string, items []json.RawMessage, next string) OrderedCollectionPage {
	if items == nil {
		items = []json.RawMessage{}
	}
	return OrderedCollectionPage{
		Context:      ActivityStreamsContext,
		ID:           id,
		Type:         "OrderedCollectionPage",
		PartOf:       partOf,
		Next:         next,
		OrderedItems: items,
	}
}

// HiddenCollection says at most how many items a collection has and never
// lists them; members of a support group are nobody else's business. The
// shape (type Collection, an empty items array) is the one Lemmy publishes
// for its communities' followers and parses from other servers.
type HiddenCollection struct {
	Context    string `json:"@context"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems *int   `json:"totalItems,omitempty"`
	Items      []any  `json:"items"`
}

// NewHiddenCollection builds a collection that shows total when showTotal
// is set and nothing else.
func NewHiddenCollection(id string, total int, showTotal bool) HiddenCollection {
	c := HiddenCollection{
		Context: ActivityStreamsContext,
		ID:      id,
		Type:    "Collection",
		Items:   []any{},
	}
	if showTotal {
		c.TotalItems = &total
	}
	return c
}
