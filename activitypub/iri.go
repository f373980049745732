package activitypub

import (
	"net/url"
	"strings"
)

// Public is the special collection that marks an object as readable by anyone.
const Public = "https://www.w3.org/ns/activitystreams#Public"

// IRIs builds every identifier this instance mints, so that the URL layout is
// decided in one place and the router, the documents and the tests agree on it.
type IRIs struct {
	base string // scheme://host[:port] without a trailing slash
	host string // host[:port], as used in acct: URIs
}

// NewIRIs returns the IRI builder for an instance whose public base URL is
// base, for example "https://hearth.example".
func NewIRIs(base *url.URL) IRIs {
	return IRIs{base: strings.TrimSuffix(base.Scheme+"://"+base.Host, "/"), host: base.Host}
}

// Base is the instance's public base URL without a trailing slash.
func (i IRIs) Base() string { return i.base }

// Host is the instance's host, with a port when the base URL has one.
func (i IRIs) Host() string { return i.host }

// Group is the id of the group actor called name.
func (i IRIs) Group(name string) string { return i.base + "/g/" + name }

// GroupKey is the keyId of the group's RSA key.
func (i IRIs) GroupKey(name string) string { return i.Group(name) + "#main-key" }

// GroupInbox is the group's own inbox.
func (i IRIs) GroupInbox(name string) string { return i.Group(name) + "/inbox" }

// GroupOutbox is the group's outbox collection.
func (i IRIs) GroupOutbox(name string) string { return i.Group(name) + "/outbox" }

// GroupFollowers is the group's followers collection: its members.
func (i IRIs) GroupFollowers(name string) string { return i.Group(name) + "/followers" }

// GroupFeatured is the collection of the group's pinned posts.
func (i IRIs) GroupFeatured(name string) string { return i.Group(name) + "/featured" }

// GroupModerators is the collection of the group's moderators.
func (i IRIs) GroupModerators(name string) string { return i.Group(name) + "/moderators" }

// GroupActivity is the id of an activity the group sends, named by a random token.
func (i IRIs) GroupActivity(name, token string) string { return i.Group(name) + "/activities/" + token }

// GroupNote is the id of a note the group itself authors.
func (i IRIs) GroupNote(name, token string) string { return i.Group(name) + "/notes/" + token }

// SharedInbox receives activities for every group on the instance.
func (i IRIs) SharedInbox() string { return i.base + "/inbox" }

// InstanceActor is the Application actor that signs fetches made for no group.
func (i IRIs) InstanceActor() string { return i.base + "/actor" }

// InstanceKey is the keyId of the instance actor's key.
func (i IRIs) InstanceKey() string { return i.InstanceActor() + "#main-key" }

// NodeInfo is where the instance's NodeInfo document of a schema version lives.
func (i IRIs) NodeInfo(version string) string { return i.base + "/nodeinfo/" + version }

// Acct is the WebFinger subject of the group called name.
func (i IRIs) Acct(name string) string { return "acct:" + name + "@" + i.host }

// GroupName returns the name of the group whose id or followers collection
// iri is, when it is one of this instance's.
func (i IRIs) GroupName(iri string) (string, bool) {
	rest, ok := strings.CutPrefix(iri, i.base+"/g/")
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/followers")
	if rest == "" || strings.ContainsAny(rest, "/?#") {
		return "", false
	}
	return rest, true
}
