package fedtest

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
	"github.com/hearth-social/hearth/activitypub"
)

// The headers a strict peer insists are signed: Mastodon's own outgoing set,
// which Hearth promises to send.
var (
	requiredOnPost = []string{httpsig.RequestTarget, "host", "date", "digest"}
	requiredOnGet  = []string{httpsig.RequestTarget, "host", "date"}
)

// Mastodon's window for a Date-signed request: an hour of clock skew ahead,
// and five minutes of validity plus the hour of skew behind.
const (
	maxDateAhead = time.Hour
	maxDateAge   = 65 * time.Minute
)

// maxDocument bounds bodies and fetched documents, as real servers do.
const maxDocument = 1 << 20

// remoteKey is a public key fetched by keyId, with the actor that owns it.
type remoteKey struct {
	key   *rsa.PublicKey
	owner string
}

// signer is who signed a verified request.
type signer struct {
	keyID string
	owner string
}

// verify checks r's signature the way a strict server does and returns who
// signed it. body is nil for a GET. The error text says what was wrong.
func (i *Instance) verify(r *http.Request, body []byte) (signer, error) {
	if r.Header.Get("Signature") == "" {
		return signer{}, errors.New("request is not signed")
	}
	verifier, err := httpsig.NewVerifier(r)
	if err != nil {
		return signer{}, fmt.Errorf("unreadable signature: %v", err)
	}
	who := signer{keyID: verifier.KeyId()}
	fields := signatureFields(r.Header.Get("Signature"))
	switch fields["algorithm"] {
	case "", "rsa-sha256", "hs2019":
	default:
		return who, fmt.Errorf("algorithm %q is not accepted", fields["algorithm"])
	}
	signed := strings.Fields(strings.ToLower(fields["headers"]))
	if len(signed) == 0 {
		signed = []string{"date"}
	}
	required := requiredOnGet
	if body != nil {
		required = requiredOnPost
	}
	for _, h := range required {
		if !slices.Contains(signed, h) {
			return who, fmt.Errorf("%s is not among the signed headers %q", h, signed)
		}
	}
	if err := checkDate(r.Header.Get("Date"), time.Now()); err != nil {
		return who, err
	}
	if body != nil {
		if err := checkDigest(r.Header.Get("Digest"), body); err != nil {
			return who, err
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	key, err := i.publicKey(ctx, who.keyID, false)
	if err != nil {
		return who, err
	}
	if verifier.Verify(key.key, httpsig.RSA_SHA256) != nil {
		// The sender may have rotated its key since it was cached: fetch it
		// once more, as Mastodon does, before giving up.
		if key, err = i.publicKey(ctx, who.keyID, true); err != nil {
			return who, err
		}
		if err := verifier.Verify(key.key, httpsig.RSA_SHA256); err != nil {
			return who, fmt.Errorf("signature does not verify with %s: %v", who.keyID, err)
		}
	}
	who.owner = key.owner
	return who, nil
}

// signatureFields splits a Signature header the way go-fed does, so the
// signed-headers list read here is the one go-fed verified.
func signatureFields(header string) map[string]string {
	fields := make(map[string]string)
	for _, part := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(part, "=")
		if ok {
			fields[name] = strings.Trim(value, `"`)
		}
	}
	return fields
}

func checkDate(header string, now time.Time) error {
	if header == "" {
		return errors.New("no date header")
	}
	date, err := http.ParseTime(header)
	if err != nil {
		return fmt.Errorf("date header %q is not an HTTP date", header)
	}
	if date.Sub(now) > maxDateAhead {
		return fmt.Errorf("date header %q is more than %v ahead", header, maxDateAhead)
	}
	if now.Sub(date) > maxDateAge {
		return fmt.Errorf("date header %q is more than %v old", header, maxDateAge)
	}
	return nil
}

func checkDigest(header string, body []byte) error {
	algorithm, value, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(algorithm, "SHA-256") {
		return fmt.Errorf("digest header %q is not SHA-256", header)
	}
	sum := sha256.Sum256(body)
	if value != base64.StdEncoding.EncodeToString(sum[:]) {
		return errors.New("digest header does not match the body")
	}
	return nil
}

// publicKey returns the key published under keyID, from the cache unless
// refresh is set.
func (i *Instance) publicKey(ctx context.Context, keyID string, refresh bool) (remoteKey, error) {
	i.mu.Lock()
	cached, ok := i.keys[keyID]
	i.mu.Unlock()
	if ok && !refresh {
		return cached, nil
	}
	key, err := fetchKey(ctx, i.network.Client(), keyID)
	if err != nil {
		return remoteKey{}, err
	}
	i.mu.Lock()
	i.keys[keyID] = key
	i.mu.Unlock()
	return key, nil
}

// keyDocument is either an actor carrying publicKey (an object or a list of
// them) or a key document of its own, as some servers serve at the keyId.
type keyDocument struct {
	ID           string          `json:"id"`
	Owner        string          `json:"owner"`
	PublicKeyPem string          `json:"publicKeyPem"`
	PublicKey    json.RawMessage `json:"publicKey"`
}

func fetchKey(ctx context.Context, client *http.Client, keyID string) (remoteKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, keyID, nil)
	if err != nil {
		return remoteKey{}, fmt.Errorf("keyId %q: %v", keyID, err)
	}
	req.Header.Set("Accept", activitypub.ContentType)
	resp, err := client.Do(req)
	if err != nil {
		return remoteKey{}, fmt.Errorf("fetching key %s: %v", keyID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return remoteKey{}, fmt.Errorf("fetching key %s: status %s", keyID, resp.Status)
	}
	var doc keyDocument
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(&doc); err != nil {
		return remoteKey{}, fmt.Errorf("key document %s: %v", keyID, err)
	}
	candidates := []keyDocument{doc}
	if doc.PublicKeyPem == "" {
		candidates, err = embeddedKeys(doc.PublicKey)
		if err != nil {
			return remoteKey{}, fmt.Errorf("actor %s: publicKey: %v", doc.ID, err)
		}
	}
	for _, k := range candidates {
		if k.ID != keyID {
			continue
		}
		pub, err := activitypub.ParsePublicKey(k.PublicKeyPem)
		if err != nil {
			return remoteKey{}, fmt.Errorf("key %s: %v", keyID, err)
		}
		owner := k.Owner
		if owner == "" {
			owner = doc.ID
		}
		return remoteKey{key: pub, owner: owner}, nil
	}
	return remoteKey{}, fmt.Errorf("document at %s publishes no key with id %s", keyID, keyID)
}

func embeddedKeys(raw json.RawMessage) ([]keyDocument, error) {
	var one keyDocument
	if err := json.Unmarshal(raw, &one); err == nil {
		return []keyDocument{one}, nil
	}
	var many []keyDocument
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("neither a key nor a list of keys")
	}
	return many, nil
}
