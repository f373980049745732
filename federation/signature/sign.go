package signature

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// The headers Hearth signs, in Mastodon's own order. Peers require Digest on
// POST and Host on GET; Date and (request-target) bind the signature to one
// moment and one URL.
var (
	postHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}
	getHeaders  = []string{httpsig.RequestTarget, "host", "date"}
)

// Signer signs requests on behalf of one actor. It holds only the key and
// its id, and builds a fresh go-fed signer for every request, because go-fed
// signers are not safe for concurrent use; so one Signer may serve any number
// of delivery workers at once.
type Signer struct {
	keyID string
	key   *rsa.PrivateKey
}

// NewSigner returns a Signer for the key published under keyID (the actor's
// IRI followed by #main-key).
func NewSigner(keyID string, key *rsa.PrivateKey) *Signer {
	return &Signer{keyID: keyID, key: key}
}

// SignPost sets Host, Date, Digest and Signature on r, signing
// (request-target) host date digest. body must be exactly the bytes r will
// send.
func (s *Signer) SignPost(r *http.Request, body []byte) error {
	if body == nil {
		// go-fed adds a Digest only for a non-nil body, and an empty body
		// still needs one.
		body = []byte{}
	}
	return s.sign(r, body, postHeaders)
}

// SignGet sets Host, Date and Signature on r, signing (request-target) host
// date, as servers in authorized-fetch mode require of every fetch.
func (s *Signer) SignGet(r *http.Request) error {
	return s.sign(r, nil, getHeaders)
}

func (s *Signer) sign(r *http.Request, body []byte, headers []string) error {
	// go-fed reads every signed header from r.Header, Host included, while
	// net/http sends r.Host (or the URL's host) and ignores Header["Host"]:
	// copy the value that will go on the wire.
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	r.Header.Set("Host", host)
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	// Signing the same request again, as a retry might, must start clean:
	// go-fed refuses to overwrite a Digest and would append a second Signature.
	r.Header.Del("Digest")
	r.Header.Del("Signature")

	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return err
	}
	if err := signer.SignRequest(s.key, s.keyID, r, body); err != nil {
		return err
	}

	// go-fed always labels the signature algorithm="hs2019". Mastodon
	// accepts that, but Misskey before 12.111 rejects any label other than
	// rsa-sha256, and for an RSA key with SHA-256 the two mean the same
	// signature, so name it the way every peer understands.
	prefix := `keyId="` + s.keyID + `",`
	value := r.Header.Get("Signature")
	rest, ok := strings.CutPrefix(value, prefix+`algorithm="hs2019",`)
	if !ok {
		return errors.New("signature: go-fed wrote an unexpected Signature header layout")
	}
	r.Header.Set("Signature", prefix+`algorithm="rsa-sha256",`+rest)
	return nil
}
