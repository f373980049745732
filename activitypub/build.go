package activitypub

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
)

// Activity is an activity this instance sends. Object holds whatever the
// activity is about: an IRI string, an embedded *Activity or *Note, or the
// exact bytes of a received activity (json.RawMessage) when relaying.
type Activity struct {
	Context   any      `json:"@context,omitempty"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Actor     string   `json:"actor"`
	Published string   `json:"published,omitempty"`
	To        []string `json:"to,omitempty"`
	CC        []string `json:"cc,omitempty"`
	Audience  string   `json:"audience,omitempty"`
	Object    any      `json:"object"`
	Target    string   `json:"target,omitempty"`
}

// NewToken returns a random, URL-safe token for a new id.
func NewToken() string {
	var b [15]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Timestamp formats t the way activities carry time.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// followRef is the Follow being answered, embedded so that servers which no
// longer know the Follow's id can still match it by actor and object.
type followRef struct {
	ID     string `json:"id,omitempty"`
	Type   string `json:"type"`
	Actor  string `json:"actor"`
	Object string `json:"object"`
}

// NewFollowAnswer builds an Accept or Reject (answer) of follower's Follow
// of group.
func NewFollowAnswer(answer, id, group, follower, followID string) *Activity {
	return &Activity{
		Context: ActivityStreamsContext,
		ID:      id,
		Type:    answer,
		Actor:   group,
		To:      []string{follower},
		Object:  followRef{ID: followID, Type: "Follow", Actor: follower, Object: group},
	}
}

// NewAnnounce builds the group's Announce of object, addressed publicly to
// the group's followers and to cc.
func NewAnnounce(id, group, followers string, published time.Time, object any, cc ...string) *Activity {
	return &Activity{
		Context:   ActivityStreamsContext,
		ID:        id,
		Type:      "Announce",
		Actor:     group,
		Published: Timestamp(published),
		To:        []string{Public},
		CC:        append([]string{followers}, cc...),
		Audience:  group,
		Object:    object,
	}
}

// NewUndo builds the group's Undo of one of its own earlier activities,
// addressed like the original.
func NewUndo(id string, original *Activity) *Activity {
	inner := *original
	inner.Context = nil
	return &Activity{
		Context: ActivityStreamsContext,
		ID:      id,
		Type:    "Undo",
		Actor:   original.Actor,
		To:      original.To,
		CC:      original.CC,
		Object:  &inner,
	}
}

// NewBlock builds the group's Block of an account, addressed to it alone:
// its server then drops the account's follow and refuses new ones.
func NewBlock(id, group, account string) *Activity {
	return &Activity{Context: ActivityStreamsContext, ID: id, Type: "Block", Actor: group, To: []string{account}, Object: account}
}

// NewDeleteOf builds the group's Delete of one of its own earlier
// activities, addressed like it. A server that does not act on the Undo of
// a boost (GoToSocial acts only on an Undo that embeds the Announce, from
// the Announce's own actor) still withdraws it on the Delete.
func NewDeleteOf(id string, original *Activity) *Activity {
	return &Activity{Context: ActivityStreamsContext, ID: id, Type: "Delete", Actor: original.Actor,
		To: original.To, CC: original.CC, Object: original.ID}
}

// NewRemoval builds the group's Delete of a member's post that its
// moderators removed, addressed as the group's relays are; group-aware
// servers get it inside the group's Announce.
func NewRemoval(id, group, followers, object string) *Activity {
	return &Activity{Context: ActivityStreamsContext, ID: id, Type: "Delete", Actor: group,
		To: []string{Public}, CC: []string{followers}, Audience: group, Object: tombstone{ID: object, Type: "Tombstone"}}
}

// NewFeaturedChange builds the group's Add (typ "Add") or Remove of object
// to or from its featured collection, a post pinned to or unpinned from
// its profile, addressed to and cc.
func NewFeaturedChange(typ, id, group, featured, object string, to, cc []string) *Activity {
	return &Activity{Context: ActivityStreamsContext, ID: id, Type: typ, Actor: group,
		To: to, CC: cc, Object: object, Target: featured}
}

// Marshal encodes an activity for storage and delivery.
func Marshal(a *Activity) ([]byte, error) { return json.Marshal(a) }
