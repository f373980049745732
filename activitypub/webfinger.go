package activitypub

import (
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"unicode"
)

// JRDContentType is the media type of WebFinger answers (RFC 7033).
const JRDContentType = "application/jrd+json"

// ProfilePageRel marks the link to a page a person can read.
const ProfilePageRel = "http://webfinger.net/rel/profile-page"

// AvatarRel marks the link to an actor's picture.
const AvatarRel = "http://webfinger.net/rel/avatar"

// ErrMalformedResource means a WebFinger resource is missing or is neither an
// acct: URI, a user@host handle nor an http(s) URL.
var ErrMalformedResource = errors.New("malformed WebFinger resource")

// ErrForeignResource means a WebFinger resource names another host or a URL
// this instance does not serve an actor at.
var ErrForeignResource = errors.New("resource is not an actor of this instance")

// JRD is a WebFinger answer.
type JRD struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases,omitempty"`
	Links   []JRDLink `json:"links"`
}

// JRDLink is one link of a JRD or of a host-meta document.
type JRDLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// FilterRels keeps only the links whose rel is one of rels, as a client that
// passes rel parameters asks (RFC 7033 section 4.3). No rels keeps them all.
func (j JRD) FilterRels(rels []string) JRD {
	if len(rels) == 0 {
		return j
	}
	kept := []JRDLink{}
	for _, l := range j.Links {
		for _, rel := range rels {
			if l.Rel == rel {
				kept = append(kept, l)
				break
			}
		}
	}
	j.Links = kept
	return j
}

// NewGroupJRD answers a WebFinger query for the group called name. Mastodon
// accepts an actor only when its preferredUsername and host resolve back to
// its id here, so subject and the self link must agree with the actor.
func NewGroupJRD(iris IRIs, name, iconURL string) JRD {
	id := iris.Group(name)
	j := JRD{
		Subject: iris.Acct(name),
		Aliases: []string{id},
		Links: []JRDLink{
			{Rel: "self", Type: ContentType, Href: id},
			{Rel: ProfilePageRel, Type: "text/html", Href: id},
		},
	}
	if iconURL != "" {
		j.Links = append(j.Links, JRDLink{Rel: AvatarRel, Href: iconURL})
	}
	return j
}

// NewServiceJRD answers a WebFinger query for the instance actor.
func NewServiceJRD(iris IRIs) JRD {
	id := iris.InstanceActor()
	return JRD{
		Subject: iris.Acct(iris.Host()),
		Aliases: []string{id},
		Links:   []JRDLink{{Rel: "self", Type: ContentType, Href: id}},
	}
}

// LocalUsername returns the username a WebFinger resource names on the
// instance iris describes: a group's name, or the host for the instance
// actor. It accepts acct:user@host, user@host (with or without a leading @)
// and the actor's URL. Usernames in handles are lower-cased, since group
// names are and Mastodon compares handles without case. The name is only
// checked to be one word, as a name could be; the caller looks it up.
func LocalUsername(iris IRIs, resource string) (string, error) {
	resource = strings.TrimSpace(resource)
	if resource == "" {
		return "", ErrMalformedResource
	}
	lower := strings.ToLower(resource)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return usernameFromActorURL(iris, resource)
	}
	handle := strings.TrimPrefix(resource, "@")
	if strings.HasPrefix(lower, "acct:") {
		handle = resource[len("acct:"):]
	}
	at := strings.LastIndex(handle, "@")
	if at <= 0 || at == len(handle)-1 {
		return "", ErrMalformedResource
	}
	user, host := handle[:at], handle[at+1:]
	if strings.ContainsAny(host, " /?#") {
		return "", ErrMalformedResource
	}
	if !strings.EqualFold(host, iris.Host()) {
		return "", ErrForeignResource
	}
	// The instance actor's username is the host, port and all.
	if strings.EqualFold(user, iris.Host()) {
		return iris.Host(), nil
	}
	if !oneWord(user) {
		return "", ErrMalformedResource
	}
	return strings.ToLower(user), nil
}

// oneWord reports whether s could be a name: not empty, with no space,
// control or bidirectional formatting character, and none of the
// characters that separate the parts of a handle or a URL.
func oneWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || IsControlOrBidi(r) || strings.ContainsRune("/?#@:", r)
	})
}

func usernameFromActorURL(iris IRIs, resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" {
		return "", ErrMalformedResource
	}
	base, err := url.Parse(iris.Base())
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", ErrForeignResource
	}
	if u.Path == "/actor" {
		return iris.Host(), nil
	}
	name, ok := strings.CutPrefix(u.Path, "/g/")
	if !ok || !oneWord(name) {
		return "", ErrForeignResource
	}
	return name, nil
}

// HostMetaContentType is the media type of the XML host-meta document.
const HostMetaContentType = "application/xrd+xml"

// HostMeta is the XRD document of /.well-known/host-meta (RFC 6415), which
// older servers read to find the WebFinger endpoint.
type HostMeta struct {
	XMLName xml.Name       `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
	Links   []HostMetaLink `xml:"Link"`
}

// HostMetaLink is one Link element of a host-meta document.
type HostMetaLink struct {
	Rel      string `xml:"rel,attr"`
	Template string `xml:"template,attr"`
}

// WebFingerTemplate is the LRDD template that points at this instance's
// WebFinger endpoint.
func WebFingerTemplate(iris IRIs) string {
	return iris.Base() + "/.well-known/webfinger?resource={uri}"
}

// NewHostMeta builds the XML host-meta document.
func NewHostMeta(iris IRIs) HostMeta {
	return HostMeta{Links: []HostMetaLink{{Rel: "lrdd", Template: WebFingerTemplate(iris)}}}
}

// HostMetaLinks is the JSON form of host-meta (host-meta.json).
type HostMetaLinks struct {
	Links []JRDLink `json:"links"`
}

// NewHostMetaLinks builds the JSON host-meta document.
func NewHostMetaLinks(iris IRIs) HostMetaLinks {
	return HostMetaLinks{Links: []JRDLink{{Rel: "lrdd", Template: WebFingerTemplate(iris)}}}
}
