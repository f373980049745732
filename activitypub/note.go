package activitypub

import (
	"html"
	"strings"
	"time"
)

// noteContext adds the one term Mastodon reads that ActivityStreams lacks:
// sensitive, which hides the content behind its warning.
var noteContext = []any{ActivityStreamsContext, map[string]string{"sensitive": "as:sensitive"}}

// Note is a post the group itself authors: its copy of a member's post in a
// private group, an anonymous post, or a direct message to one person.
type Note struct {
	Context      any              `json:"@context,omitempty"`
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	AttributedTo string           `json:"attributedTo"`
	To           []string         `json:"to"`
	CC           []string         `json:"cc,omitempty"`
	Audience     string           `json:"audience,omitempty"`
	InReplyTo    string           `json:"inReplyTo,omitempty"`
	Thread       string           `json:"context,omitempty"`
	Published    string           `json:"published"`
	Updated      string           `json:"updated,omitempty"`
	Summary      string           `json:"summary,omitempty"`
	Sensitive    bool             `json:"sensitive"`
	Content      string           `json:"content"`
	Tag          []NoteTag        `json:"tag,omitempty"`
	Attachment   []NoteAttachment `json:"attachment,omitempty"`
}

// NoteTag is a Mention in a note the group authors.
type NoteTag struct {
	Type string `json:"type"`
	Href string `json:"href"`
	Name string `json:"name"`
}

// Mention tags the actor id with its handle (@user@host), which is how
// servers decide whom a note notifies.
func Mention(id, handle string) NoteTag {
	return NoteTag{Type: "Mention", Href: id, Name: "@" + strings.TrimPrefix(handle, "@")}
}

// NoteAttachment is a media file attached by reference: the file stays at
// its origin and only its URL travels.
type NoteAttachment struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType,omitempty"`
	URL       string `json:"url"`
	Name      string `json:"name,omitempty"`
	Blurhash  string `json:"blurhash,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
}

// AttachmentsByReference carries a received post's media over to a note,
// keeping only http(s) URLs.
func AttachmentsByReference(list []Attachment) []NoteAttachment {
	var out []NoteAttachment
	for _, a := range list {
		if _, err := Host(a.URL); err != nil || a.Type == "PropertyValue" {
			continue
		}
		typ := a.Type
		if typ == "" {
			typ = "Document"
		}
		out = append(out, NoteAttachment{Type: typ, MediaType: a.MediaType, URL: a.URL, Name: a.Name,
			Blurhash: a.Blurhash, Width: a.Width, Height: a.Height})
	}
	return out
}

// NewNote starts a note by the group, published now; the caller fills in
// the audience, thread and content.
func NewNote(id, group string, published time.Time) *Note {
	return &Note{Context: noteContext, ID: id, Type: "Note", AttributedTo: group, Published: Timestamp(published)}
}

// SetWarning sets the note's content warning; an empty one clears it.
func (n *Note) SetWarning(warning string) {
	n.Summary, n.Sensitive = warning, warning != ""
}

// embedded is the note as the object of an activity, without its own
// @context.
func (n *Note) embedded() *Note {
	inner := *n
	inner.Context = nil
	return &inner
}

// Standalone is the note as a document of its own, served at its id.
func (n *Note) Standalone() *Note {
	doc := *n
	doc.Context = noteContext
	return &doc
}

// NewCreate builds the group's Create of note, addressed as the note is.
func NewCreate(id string, note *Note) *Activity {
	return &Activity{Context: noteContext, ID: id, Type: "Create", Actor: note.AttributedTo,
		Published: note.Published, To: note.To, CC: note.CC, Audience: note.Audience, Object: note.embedded()}
}

// NewUpdate builds the group's Update of an edited note, addressed as the
// note is.
func NewUpdate(id string, note *Note) *Activity {
	return &Activity{Context: noteContext, ID: id, Type: "Update", Actor: note.AttributedTo,
		Published: note.Updated, To: note.To, CC: note.CC, Audience: note.Audience, Object: note.embedded()}
}

// tombstone is what is left of a deleted note.
type tombstone struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// NewDelete builds the group's Delete of one of its notes, sent to the
// audience the note had.
func NewDelete(id string, note *Note) *Activity {
	return &Activity{Context: ActivityStreamsContext, ID: id, Type: "Delete", Actor: note.AttributedTo,
		To: note.To, CC: note.CC, Object: tombstone{ID: note.ID, Type: "Tombstone"}}
}

// MentionLink is the HTML Mastodon writes for a mention: a link to the
// actor inside an h-card, which its clients turn into a profile link.
func MentionLink(id, handle string) string {
	return `<span class="h-card"><a href="` + html.EscapeString(id) + `" class="u-url mention">@` +
		html.EscapeString(strings.TrimPrefix(handle, "@")) + `</a></span>`
}

// TextToHTML turns plain text into the HTML of a note, as a bio is: all
// escaped, blank lines between paragraphs, single newlines as line breaks.
func TextToHTML(text string) string { return plainTextToHTML(text) }
