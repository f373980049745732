package activitypub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Object is any received ActivityStreams document: an activity, an object
// or an actor. Decode fills it from whatever shape the sending server chose;
// a field the document lacks, or sends in a shape nobody uses, stays zero.
type Object struct {
	// ID is "" for a transient document with no id; otherwise Decode has
	// checked that it is an absolute http(s) IRI.
	ID string
	// Type is the first type Hearth knows when `type` is an array.
	Type string

	// Actor is the activity's actor IRI.
	Actor string
	// Object is nil when the document has no object. When the document
	// sends an array (a Flag's account and posts), Object is its first entry;
	// Objects always lists the id of every entry.
	Object  *Ref
	Objects []string
	Target  *Ref

	// AttributedTo is the first attributed actor; Lemmy and PeerTube send
	// an array of objects, the person first.
	AttributedTo string

	To, CC, BTo, BCC, Audience []string

	// Content is the HTML body as sent, not yet sanitized. It falls back to
	// the first contentMap entry; Misskey's _misskey_content is never used.
	Content string
	// Summary is the content warning when Sensitive is set.
	Summary   string
	Name      string
	MediaType string
	Sensitive bool

	InReplyTo string
	// Context is the thread the object belongs to, from `context` or, failing
	// that, `conversation`, when either is an absolute IRI.
	Context string

	// Published and Updated are zero when absent or unparseable.
	Published, Updated time.Time

	// URL is the human-facing page: the first HTML link when several are sent.
	URL        string
	Tag        []Tag
	Attachment []Attachment

	// Actor documents only.
	PreferredUsername         string
	Inbox, Outbox, Followers  string
	SharedInbox               string
	PublicKey                 PublicKey
	Multikeys                 []Multikey
	ManuallyApprovesFollowers bool

	// Raw is the exact bytes this object was decoded from, so that it can be
	// embedded unchanged when relayed (FEP-1b12).
	Raw json.RawMessage
}

// Ref is the value of `object` or `target`: an IRI, an embedded object, or
// both when the embedded object has an id.
type Ref struct {
	// ID is set whenever it is known: the IRI itself or the embedded id.
	// Only an embedded id is checked by Decode; a bare IRI is the caller's
	// to check before it is fetched.
	ID string
	// Embedded is nil when the reference was a bare IRI. An embedded object
	// from another origin than its container must not be trusted as is.
	Embedded *Object
}

// Tag is one entry of `tag`: a Mention, Hashtag, Emoji or Link.
type Tag struct {
	Type, Href, Name string
}

// Attachment is one media file or link attached to a post, or one profile
// field (PropertyValue) on an actor.
type Attachment struct {
	Type, MediaType, URL, Name, Blurhash string
	Width, Height                        int
}

// PublicKey is an actor's RSA key as published in its `publicKey`.
type PublicKey struct {
	ID, Owner, PEM string
}

// Audiences lists every addressee in to, cc, bto, bcc and audience, in that
// order, each once.
func (o *Object) Audiences() []string {
	var all []string
	seen := make(map[string]bool)
	for _, list := range [][]string{o.To, o.CC, o.BTo, o.BCC, o.Audience} {
		for _, iri := range list {
			if !seen[iri] {
				seen[iri] = true
				all = append(all, iri)
			}
		}
	}
	return all
}

// IsPublic reports whether the object is addressed to the Public collection,
// in its full or compacted forms.
func (o *Object) IsPublic() bool {
	for _, iri := range o.Audiences() {
		if isPublicIRI(iri) {
			return true
		}
	}
	return false
}

func isPublicIRI(iri string) bool {
	return iri == Public || iri == "as:Public" || iri == "Public"
}

// Mentions reports whether the object carries a Mention tag for iri.
func (o *Object) Mentions(iri string) bool {
	for _, tag := range o.Tag {
		if tag.Type == "Mention" && tag.Href == iri {
			return true
		}
	}
	return false
}

// Addresses reports whether iri is among the object's audiences.
func (o *Object) Addresses(iri string) bool {
	for _, audience := range o.Audiences() {
		if audience == iri {
			return true
		}
	}
	return false
}

// ObjectID is the id of the activity's object, or "" when it has none.
func (o *Object) ObjectID() string {
	if o.Object == nil {
		return ""
	}
	return o.Object.ID
}

// ErrNotHTTPIRI is returned by Host for anything but an absolute http or
// https IRI with a valid host.
var ErrNotHTTPIRI = errors.New("not an absolute http(s) IRI")

// Host returns the origin host of an absolute http(s) IRI in canonical form
// (see HostName), with the port only when it is not the scheme's default,
// so that two IRIs from the same server always compare equal. IRIs with
// user information are refused: they invite confusion about which host is
// meant.
func Host(iri string) (string, error) {
	u, err := url.Parse(iri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
		return "", ErrNotHTTPIRI
	}
	host, err := HostName(u.Hostname())
	if err != nil {
		return "", ErrNotHTTPIRI
	}
	port := u.Port()
	if port == "" || u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
		return host, nil
	}
	return host + ":" + port, nil
}

// ErrInvalidHost is returned by HostName and CanonicalHost for what cannot
// be the name of a server.
var ErrInvalidHost = errors.New("not a valid host name")

// hostNames maps host names as browsers do (the WHATWG URL standard's
// domain-to-ASCII): underscores and labels like "r3---sn" are allowed, as
// servers use them; the characters that remain are checked by HostName.
var hostNames = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(false), idna.CheckHyphens(false))

// HostName returns the canonical form of a host name, the one every
// comparison of hosts uses: lower case, an international name in its ASCII
// (punycode) form, and without the trailing dot of a fully qualified name.
// "Blocked.Example." and "blocked.example", or "BÜCHER.example" and
// "xn--bcher-kva.example", name one server: a policy on a domain must see
// through the spelling. An IPv6 address comes back in brackets.
func HostName(name string) (string, error) {
	if strings.Contains(name, ":") {
		ip := strings.Trim(name, "[]")
		if net.ParseIP(ip) == nil {
			return "", fmt.Errorf("%q: %w", name, ErrInvalidHost)
		}
		return "[" + strings.ToLower(ip) + "]", nil
	}
	ascii, err := hostNames.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("%q: %w: %w", name, ErrInvalidHost, err)
	}
	// The mapping turns other full stops into dots, so the trailing one is
	// cut after it.
	ascii = strings.TrimSuffix(ascii, ".")
	if ascii == "" || strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") ||
		strings.IndexFunc(ascii, notHostChar) >= 0 {
		return "", fmt.Errorf("%q: %w", name, ErrInvalidHost)
	}
	return ascii, nil
}

func notHostChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// CanonicalHost is HostName for a host that may carry a port, as in a
// handle's user@host:port: the port is kept as written.
func CanonicalHost(hostport string) (string, error) {
	name, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return HostName(hostport)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("%q: %w", hostport, ErrInvalidHost)
	}
	if name, err = HostName(name); err != nil {
		return "", err
	}
	return name + ":" + port, nil
}

// SameOrigin reports whether two IRIs name the same server, as Host sees it.
func SameOrigin(a, b string) bool {
	ha, errA := Host(a)
	hb, errB := Host(b)
	return errA == nil && errB == nil && ha == hb
}

// MaxDocumentSize bounds every document Hearth reads from another server,
// whether it posted the document or Hearth fetched it.
const MaxDocumentSize = 1 << 20
