package fedtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fed/httpsig"
	"github.com/hearth-social/hearth/activitypub"
)

const activityStreams = "https://www.w3.org/ns/activitystreams"

// Actor is a person on a fake instance.
type Actor struct {
	Username    string
	Handle      string // "alice@mastodon.test"
	ID          string // "http://mastodon.test/users/alice"
	Inbox       string
	SharedInbox string
	Followers   string
	KeyID       string // ID + "#main-key"
	// Key signs everything the actor sends. Keys come from a small fixed
	// set, handed out in turn, so actors made far apart in a test may share
	// one: tests that need two different keys should use actors made one
	// after the other.
	Key *rsa.PrivateKey
	// AlsoKnownAs lists the actor's other accounts, as a Move's target
	// names the account it moved from.
	AlsoKnownAs []string
	// Overrides replaces fields of the actor document, to play a server
	// that publishes what real ones do not, such as a preferredUsername
	// with control characters. Set it before anyone fetches the actor.
	Overrides map[string]any
	// MessageSignatures has the actor sign with RFC 9421 HTTP Message
	// Signatures alone, as servers built on Fedify do before they fall back
	// to draft-cavage, instead of with draft-cavage.
	MessageSignatures bool
	// Ed25519Key, when set, is published in the actor's assertionMethod as
	// a FEP-521a Multikey called MultikeyID (ID + "#ed25519-key"), and
	// RFC 9421 signatures (see MessageSignatures) use it, alg ed25519,
	// instead of Key. Set it before anyone fetches the actor.
	Ed25519Key ed25519.PrivateKey
	MultikeyID string

	instance *Instance
}

// NewActor adds a Person called username to the instance.
func (i *Instance) NewActor(username string) *Actor {
	i.network.tb.Helper()
	return i.NewActorSpelled(username, i.Host)
}

// NewActorSpelled adds a Person called username whose ids, inboxes
// included, write the instance's host as host: another spelling of the same
// name, such as "BLOCKED.example" or "blocked.example." (fully qualified),
// which reaches this instance as it would through DNS. Servers write their
// ids as they like; a peer must see that they name one server.
func (i *Instance) NewActorSpelled(username, host string) *Actor {
	tb := i.network.tb
	tb.Helper()
	if hostOnly(host) != i.Host {
		tb.Fatalf("fedtest: %s is not a spelling of %s", host, i.Host)
	}
	key, err := Key()
	if err != nil {
		tb.Fatalf("fedtest: %v", err)
	}
	base := "http://" + host
	id := base + "/users/" + username
	a := &Actor{
		Username:    username,
		Handle:      username + "@" + i.Host,
		ID:          id,
		Inbox:       id + "/inbox",
		SharedInbox: base + "/inbox",
		Followers:   id + "/followers",
		KeyID:       id + "#main-key",
		MultikeyID:  id + "#ed25519-key",
		Key:         key,
		instance:    i,
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, taken := i.actors[username]; taken {
		tb.Fatalf("fedtest: %s already has an actor called %s", i.Host, username)
	}
	i.actors[username] = a
	return a
}

func (a *Actor) document() map[string]any {
	pem, err := activitypub.EncodePublicKey(&a.Key.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("fedtest: encoding the key of %s: %v", a.ID, err))
	}
	doc := map[string]any{
		"@context":          []string{activityStreams, "https://w3id.org/security/v1"},
		"id":                a.ID,
		"type":              "Person",
		"preferredUsername": a.Username,
		"name":              a.Username,
		"url":               a.ID,
		"inbox":             a.Inbox,
		"outbox":            a.ID + "/outbox",
		"followers":         a.Followers,
		"following":         a.ID + "/following",
		"endpoints":         map[string]string{"sharedInbox": a.SharedInbox},
		"publicKey": map[string]string{
			"id":           a.KeyID,
			"owner":        a.ID,
			"publicKeyPem": pem,
		},
	}
	if a.Ed25519Key != nil {
		doc["@context"] = []string{activityStreams, "https://w3id.org/security/v1", "https://w3id.org/security/multikey/v1"}
		doc["assertionMethod"] = []map[string]string{{
			"id":                 a.MultikeyID,
			"type":               "Multikey",
			"controller":         a.ID,
			"publicKeyMultibase": activitypub.EncodeMultikey(a.Ed25519Key.Public().(ed25519.PublicKey)),
		}}
	}
	if len(a.AlsoKnownAs) > 0 {
		doc["alsoKnownAs"] = a.AlsoKnownAs
	}
	maps.Copy(doc, a.Overrides)
	return doc
}

// Publish stores object on the actor's instance, so that it can be fetched
// from its origin, and returns its id. An object without an id gets a fresh
// one; one with an id on this instance replaces what was stored there, as an
// edit does. type defaults to Note, attributedTo to the actor and published
// to now.
func (a *Actor) Publish(object map[string]any) string {
	id, _ := a.publish(object)["id"].(string)
	return id
}

// publish stores a copy of object, completed with the defaults, and returns it.
func (a *Actor) publish(object map[string]any) map[string]any {
	stored := maps.Clone(object)
	if stored == nil {
		stored = make(map[string]any)
	}
	defaults := map[string]any{
		"@context":     activityStreams,
		"type":         "Note",
		"attributedTo": a.ID,
		"published":    time.Now().UTC().Format(time.RFC3339),
	}
	for k, v := range defaults {
		if _, ok := stored[k]; !ok {
			stored[k] = v
		}
	}
	id, _ := stored["id"].(string)
	if id == "" {
		id = a.instance.newID(a, "notes")
		stored["id"] = id
	}
	a.instance.store(id, stored)
	return stored
}

// activity builds and publishes an activity of type typ with a fresh id.
func (a *Actor) activity(typ string, object any) map[string]any {
	activity := map[string]any{
		"@context": activityStreams,
		"id":       a.instance.newID(a, "activities"),
		"type":     typ,
		"actor":    a.ID,
		"object":   object,
	}
	a.instance.store(activity["id"].(string), activity)
	return activity
}

// Follow is a Follow of the actor (or group) with id target.
func (a *Actor) Follow(target string) map[string]any {
	return a.activity("Follow", target)
}

// Undo is an Undo of one of the actor's earlier activities, embedded.
func (a *Actor) Undo(activity map[string]any) map[string]any {
	return a.activity("Undo", activity)
}

// Create publishes note (see Publish) and wraps it in a Create addressed as
// the note is.
func (a *Actor) Create(note map[string]any) map[string]any {
	stored := a.publish(note)
	embedded := maps.Clone(stored)
	delete(embedded, "@context")
	create := map[string]any{
		"@context":  activityStreams,
		"id":        a.instance.newID(a, "activities"),
		"type":      "Create",
		"actor":     a.ID,
		"published": stored["published"],
		"object":    embedded,
	}
	for _, field := range []string{"to", "cc"} {
		if v, ok := stored[field]; ok {
			create[field] = v
		}
	}
	a.instance.store(create["id"].(string), create)
	return create
}

// Post delivers activity to inboxURL, signed with the actor's key the way
// Mastodon signs, through the network's client. The caller closes the
// response body.
func (a *Actor) Post(ctx context.Context, inboxURL string, activity any) (*http.Response, error) {
	body, err := json.Marshal(activity)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inboxURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", activitypub.ContentType)
	if err := a.Sign(req, body); err != nil {
		return nil, err
	}
	return a.instance.network.Client().Do(req)
}

// Get fetches url with a signed GET, as a server in secure mode expects.
// The caller closes the response body.
func (a *Actor) Get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", activitypub.ContentType)
	if err := a.Sign(req, nil); err != nil {
		return nil, err
	}
	return a.instance.network.Client().Do(req)
}

// Sign signs req as the actor's server does, over body when it is not nil:
// with draft-cavage (see signCavage), or with RFC 9421 when the actor
// uses MessageSignatures (see signMessage). body need not be what req
// sends, so a test can tamper with it.
func (a *Actor) Sign(req *http.Request, body []byte) error {
	if a.MessageSignatures {
		return a.signMessage(req, body)
	}
	return a.signCavage(req, body)
}

// signCavage signs req with go-fed over (request-target) host date digest,
// adding Digest, when body is not nil, and over (request-target) host date
// otherwise. It keeps a Date the test already set, so a test can sign with
// a stale or future date.
func (a *Actor) signCavage(req *http.Request, body []byte) error {
	req.Header.Set("Host", req.URL.Host)
	req.Header.Del("Digest")
	req.Header.Del("Signature")
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	headers := requiredOnGet
	if body != nil {
		headers = requiredOnPost
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return err
	}
	return signer.SignRequest(a.Key, a.KeyID, req, body)
}

// signMessage signs req as RFC 9421 describes, with rsa-v1_5-sha256 (or
// ed25519 with the actor's Ed25519Key) under the label sig1, over @method and @target-uri and, when body is not nil,
// content-digest: the RFC 9530 Content-Digest header of body (sha-256),
// which it adds. The signature is created now.
func (a *Actor) signMessage(req *http.Request, body []byte) error {
	for _, h := range []string{"Signature", "Signature-Input", "Content-Digest"} {
		req.Header.Del(h)
	}
	components := []string{"@method", "@target-uri"}
	if body != nil {
		sum := sha256.Sum256(body)
		req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		components = append(components, "content-digest")
	}
	values := map[string]string{
		"@method":        req.Method,
		"@target-uri":    req.URL.Scheme + "://" + strings.ToLower(req.URL.Host) + req.URL.RequestURI(),
		"content-digest": req.Header.Get("Content-Digest"),
	}
	// The signature parameters, serialized as a Structured Fields inner
	// list (RFC 8941), are signed as the last line of the base.
	quoted := make([]string, len(components))
	for i, c := range components {
		quoted[i] = sfString(c)
	}
	keyID, alg := a.KeyID, "rsa-v1_5-sha256"
	if a.Ed25519Key != nil {
		keyID, alg = a.MultikeyID, "ed25519"
	}
	params := "(" + strings.Join(quoted, " ") + ")" +
		";created=" + strconv.FormatInt(time.Now().Unix(), 10) + ";keyid=" + sfString(keyID) + ";alg=" + sfString(alg)
	var base strings.Builder
	for _, c := range components {
		base.WriteString(sfString(c) + ": " + values[c] + "\n")
	}
	base.WriteString(`"@signature-params": ` + params)
	var sig []byte
	if a.Ed25519Key != nil {
		sig = ed25519.Sign(a.Ed25519Key, []byte(base.String()))
	} else {
		sum := sha256.Sum256([]byte(base.String()))
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, a.Key, crypto.SHA256, sum[:]); err != nil {
			return err
		}
	}
	req.Header.Set("Signature-Input", "sig1="+params)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

// sfString serializes s as a Structured Fields string (RFC 8941).
func sfString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

//go:embed testdata/keys/*.pem
var keyFiles embed.FS

var keyPool struct {
	once sync.Once
	keys []*rsa.PrivateKey
	err  error
	next atomic.Uint32
}

// Key hands out the pre-generated keys in turn: making RSA keys during
// tests would cost a noticeable fraction of a second each.
func Key() (*rsa.PrivateKey, error) {
	keyPool.once.Do(func() {
		names, err := fs.Glob(keyFiles, "testdata/keys/*.pem")
		if err != nil {
			keyPool.err = err
			return
		}
		for _, name := range names {
			pem, err := keyFiles.ReadFile(name)
			if err != nil {
				keyPool.err = err
				return
			}
			key, err := activitypub.ParsePrivateKey(string(pem))
			if err != nil {
				keyPool.err = fmt.Errorf("%s: %v", name, err)
				return
			}
			keyPool.keys = append(keyPool.keys, key)
		}
	})
	if keyPool.err != nil {
		return nil, keyPool.err
	}
	n := keyPool.next.Add(1) - 1
	return keyPool.keys[int(n)%len(keyPool.keys)], nil
}
