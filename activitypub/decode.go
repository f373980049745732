package activitypub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxDepth is how deeply arrays and objects may nest in a received document.
// Real payloads stay under ten (an Announce of a Create of a Note whose
// attachments carry url arrays); anything deeper is refused before decoding.
const MaxDepth = 16

// ErrInvalid wraps every error Decode returns: the document is not one Hearth
// can act on, and the sender should get a 400.
var ErrInvalid = errors.New("invalid ActivityStreams document")

// Decode reads one received ActivityStreams document. It accepts every shape
// real servers send for a property (a string, an object, or an array of
// either) and ignores members it does not know.
//
// It returns an error wrapping ErrInvalid when data is not a single JSON
// object, nests deeper than MaxDepth, repeats a key within one object, has no
// type, or has an id (its own or an embedded object's) that is not an
// absolute http(s) IRI.
func Decode(data []byte) (*Object, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, invalid("", "empty document")
	}
	if err := checkStructure(data); err != nil {
		return nil, err
	}
	raw := bytes.Clone(data)
	return decodeObject(raw, members(raw), "")
}

// checkStructure walks the token stream once, without recursion, so that
// hostile nesting is refused before anything recursive sees it. Duplicate
// keys are refused because peers disagree on which one wins, and a relayed
// document must mean the same thing to them as it did to us.
func checkStructure(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for started := false; ; started = true {
		tok, err := dec.Token()
		if err == io.EOF && started && len(stack) == 0 {
			return nil
		}
		if err != nil {
			return invalid("", "malformed JSON: "+err.Error())
		}
		if !started && tok != json.Delim('{') {
			return invalid("", "not a JSON object")
		}
		if started && len(stack) == 0 {
			return invalid("", "data after the JSON object")
		}
		top := len(stack) - 1
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == MaxDepth {
				return invalid("", fmt.Sprintf("nested deeper than %d levels", MaxDepth))
			}
			if top >= 0 && stack[top].keys != nil {
				stack[top].wantKey = true
			}
			f := &frame{}
			if tok == json.Delim('{') {
				f.keys = make(map[string]bool)
				f.wantKey = true
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
			continue
		}
		f := stack[top]
		if f.keys == nil {
			continue
		}
		if f.wantKey {
			key, _ := tok.(string)
			if f.keys[key] {
				return invalid("", fmt.Sprintf("duplicate key %q", truncate(key)))
			}
			f.keys[key] = true
		}
		f.wantKey = !f.wantKey
	}
}

// decodeObject reads the members m of the JSON object raw.
func decodeObject(raw json.RawMessage, m map[string]json.RawMessage, path string) (*Object, error) {
	o := &Object{Raw: raw}
	if id, ok := m["id"]; ok && kind(id) != 'n' {
		o.ID = str(id)
		if _, err := Host(o.ID); err != nil {
			return nil, invalid(join(path, "id"), "not an absolute http(s) IRI")
		}
	}
	o.Type = typeOf(m["type"])
	if o.Type == "" {
		return nil, invalid(path, "missing type")
	}
	var err error
	if o.Object, o.Objects, err = refs(m["object"], join(path, "object")); err != nil {
		return nil, err
	}
	if o.Target, _, err = refs(m["target"], join(path, "target")); err != nil {
		return nil, err
	}
	o.Actor = firstIRI(m["actor"])
	o.AttributedTo = firstIRI(m["attributedTo"])
	o.To = iris(m["to"])
	o.CC = iris(m["cc"])
	o.BTo = iris(m["bto"])
	o.BCC = iris(m["bcc"])
	o.Audience = iris(m["audience"])
	o.Content = text(m["content"], m["contentMap"])
	o.Summary = text(m["summary"], m["summaryMap"])
	o.Name = text(m["name"], m["nameMap"])
	o.MediaType = str(m["mediaType"])
	o.Sensitive = boolean(m["sensitive"])
	o.InReplyTo = firstIRI(m["inReplyTo"])
	o.Context = absoluteIRI(firstIRI(m["context"]))
	if o.Context == "" {
		o.Context = absoluteIRI(firstIRI(m["conversation"]))
	}
	o.Published = timestamp(m["published"])
	o.Updated = timestamp(m["updated"])
	o.URL = pageURL(m["url"])
	o.Tag = tags(m["tag"])
	o.Attachment = attachments(m["attachment"])
	o.PreferredUsername = str(m["preferredUsername"])
	o.Inbox = firstIRI(m["inbox"])
	o.Outbox = firstIRI(m["outbox"])
	o.Followers = firstIRI(m["followers"])
	if endpoints := members(m["endpoints"]); endpoints != nil {
		o.SharedInbox = firstIRI(endpoints["sharedInbox"])
	}
	o.PublicKey = publicKey(m["publicKey"], o.ID)
	o.Multikeys = multikeys(m["assertionMethod"])
	o.ManuallyApprovesFollowers = boolean(m["manuallyApprovesFollowers"])
	return o, nil
}

// refs reads `object` or `target`. The first entry is decoded in full when
// embedded; the rest only contribute their ids, which is all a Flag needs.
func refs(raw json.RawMessage, path string) (*Ref, []string, error) {
	var first *Ref
	var ids []string
	for i, item := range items(raw) {
		var ref *Ref
		switch kind(item) {
		case '"':
			if s := str(item); s != "" {
				ref = &Ref{ID: s}
			}
		case '{':
			if i > 0 && first != nil {
				ref = &Ref{ID: str(members(item)["id"])}
				break
			}
			var err error
			if ref, err = embedded(item, path); err != nil {
				return nil, nil, err
			}
		}
		if ref == nil {
			continue
		}
		if first == nil {
			first = ref
		}
		if ref.ID != "" {
			ids = append(ids, ref.ID)
		}
	}
	return first, ids, nil
}

// embedded decodes an object found inside another. One with an id but no
// type is only a reference to it; one with neither says nothing.
func embedded(raw json.RawMessage, path string) (*Ref, error) {
	m := members(raw)
	if typeOf(m["type"]) == "" {
		id := str(m["id"])
		if id == "" {
			return nil, invalid(path, "embedded object has neither id nor type")
		}
		if _, err := Host(id); err != nil {
			return nil, invalid(join(path, "id"), "not an absolute http(s) IRI")
		}
		return &Ref{ID: id}, nil
	}
	obj, err := decodeObject(raw, m, path)
	if err != nil {
		return nil, err
	}
	return &Ref{ID: obj.ID, Embedded: obj}, nil
}

// knownTypes are the ActivityStreams types and the extensions in wide use;
// when `type` is an array, the first of these wins.
var knownTypes = map[string]bool{
	"Accept": true, "Add": true, "Announce": true, "Arrive": true, "Block": true,
	"Create": true, "Delete": true, "Dislike": true, "Flag": true, "Follow": true,
	"Ignore": true, "Invite": true, "Join": true, "Leave": true, "Like": true,
	"Listen": true, "Move": true, "Offer": true, "Question": true, "Read": true,
	"Reject": true, "Remove": true, "TentativeAccept": true, "TentativeReject": true,
	"Travel": true, "Undo": true, "Update": true, "View": true,
	"Application": true, "Group": true, "Organization": true, "Person": true, "Service": true,
	"Article": true, "Audio": true, "Document": true, "Event": true, "Image": true,
	"Note": true, "Page": true, "Place": true, "Profile": true, "Relationship": true,
	"Tombstone": true, "Video": true, "Collection": true, "OrderedCollection": true,
	"CollectionPage": true, "OrderedCollectionPage": true, "Link": true, "Mention": true,
	"Hashtag": true, "Emoji": true, "EmojiReact": true, "ChatMessage": true,
	"PropertyValue": true, "Lock": true,
}

const activityStreamsNamespace = "https://www.w3.org/ns/activitystreams#"

func typeOf(raw json.RawMessage) string {
	var fallback string
	for _, item := range items(raw) {
		t := str(item)
		t = strings.TrimPrefix(t, activityStreamsNamespace)
		t = strings.TrimPrefix(t, "as:")
		if knownTypes[t] {
			return t
		}
		if fallback == "" {
			fallback = t
		}
	}
	return fallback
}

// items yields a value as a list: the elements of an array, the value itself
// otherwise, nothing for null or absent.
func items(raw json.RawMessage) []json.RawMessage {
	switch kind(raw) {
	case 0, 'n':
		return nil
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		return list
	}
	return []json.RawMessage{raw}
}

// firstIRI reads a reference that may be an IRI, an object with an id, or an
// array of those, and returns the first IRI found.
func firstIRI(raw json.RawMessage) string {
	for _, item := range items(raw) {
		if iri := iriOf(item); iri != "" {
			return iri
		}
	}
	return ""
}

// iris reads an addressing property: an IRI, an object with an id, or an
// array of those.
func iris(raw json.RawMessage) []string {
	var list []string
	for _, item := range items(raw) {
		if iri := iriOf(item); iri != "" {
			list = append(list, iri)
		}
	}
	return list
}

func iriOf(raw json.RawMessage) string {
	switch kind(raw) {
	case '"':
		return str(raw)
	case '{':
		return str(members(raw)["id"])
	}
	return ""
}

func absoluteIRI(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return ""
	}
	return s
}

// text reads a natural-language property, falling back to the first entry of
// its language map in document order.
func text(plain, languageMap json.RawMessage) string {
	if s := str(plain); s != "" {
		return s
	}
	if kind(languageMap) != '{' {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(languageMap))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return ""
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return ""
		}
		if s := str(value); s != "" {
			return s
		}
	}
	return ""
}

// timestampLayouts are tried in turn; servers differ in fractional seconds
// and in how, or whether, they write the zone.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

func timestamp(raw json.RawMessage) time.Time {
	s := strings.ToUpper(strings.TrimSpace(str(raw)))
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// pageURL reads `url`: a string, a Link, or an array of those. Video and
// media servers list many links; the HTML page is the one people visit.
func pageURL(raw json.RawMessage) string {
	var first string
	for _, item := range items(raw) {
		href, mediaType := linkOf(item)
		if href == "" {
			continue
		}
		if mediaType == "" || strings.HasPrefix(mediaType, "text/html") {
			return href
		}
		if first == "" {
			first = href
		}
	}
	return first
}

func linkOf(raw json.RawMessage) (href, mediaType string) {
	switch kind(raw) {
	case '"':
		return str(raw), ""
	case '{':
		m := members(raw)
		href = str(m["href"])
		if href == "" {
			href = str(m["url"])
		}
		return href, str(m["mediaType"])
	}
	return "", ""
}

func tags(raw json.RawMessage) []Tag {
	var list []Tag
	for _, item := range items(raw) {
		m := members(item)
		if m == nil {
			continue
		}
		list = append(list, Tag{
			Type: typeOf(m["type"]),
			Href: firstIRI(m["href"]),
			Name: str(m["name"]),
		})
	}
	return list
}

func attachments(raw json.RawMessage) []Attachment {
	var list []Attachment
	for _, item := range items(raw) {
		m := members(item)
		if m == nil {
			continue
		}
		link := pageURL(m["url"])
		if link == "" {
			link = str(m["href"])
		}
		list = append(list, Attachment{
			Type:      typeOf(m["type"]),
			MediaType: str(m["mediaType"]),
			URL:       link,
			Name:      str(m["name"]),
			Blurhash:  str(m["blurhash"]),
			Width:     dimension(m["width"]),
			Height:    dimension(m["height"]),
		})
	}
	return list
}

// dimension reads a pixel size; anything but a non-negative integer is 0.
func dimension(raw json.RawMessage) int {
	n, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// publicKey picks the actor's signing key when `publicKey` lists several:
// the conventional main key first, then the first RSA key, then the first.
func publicKey(raw json.RawMessage, actorID string) PublicKey {
	var keys []PublicKey
	for _, item := range items(raw) {
		m := members(item)
		if m == nil {
			continue
		}
		key := PublicKey{ID: str(m["id"]), Owner: firstIRI(m["owner"]), PEM: str(m["publicKeyPem"])}
		if actorID != "" && key.ID == actorID+"#main-key" {
			return key
		}
		keys = append(keys, key)
	}
	for _, key := range keys {
		if _, err := ParsePublicKey(key.PEM); err == nil {
			return key
		}
	}
	if len(keys) > 0 {
		return keys[0]
	}
	return PublicKey{}
}

// multikeys reads the Ed25519 Multikeys embedded in `assertionMethod`;
// keys given by reference alone, or of other types, are left out.
func multikeys(raw json.RawMessage) []Multikey {
	var keys []Multikey
	for _, item := range items(raw) {
		m := members(item)
		if m == nil || !slices.Contains(strs(m["type"]), "Multikey") {
			continue
		}
		key, err := DecodeMultikey(str(m["publicKeyMultibase"]))
		if err != nil {
			continue
		}
		keys = append(keys, Multikey{ID: str(m["id"]), Controller: firstIRI(m["controller"]), Key: key})
	}
	return keys
}

// strs reads a string or an array of strings.
func strs(raw json.RawMessage) []string {
	var list []string
	for _, item := range items(raw) {
		if s := str(item); s != "" {
			list = append(list, s)
		}
	}
	return list
}

// kind is the first byte of a JSON value: '"', '{', '[', 'n' for null, 't'
// or 'f' for booleans, a digit or '-' for numbers, 0 when absent.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func members(raw json.RawMessage) map[string]json.RawMessage {
	if kind(raw) != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func str(raw json.RawMessage) string {
	if kind(raw) != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func boolean(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("true"))
}

func invalid(path, reason string) error {
	if path == "" {
		return fmt.Errorf("%w: %s", ErrInvalid, reason)
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, path, reason)
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// truncate keeps hostile keys from filling the log.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
