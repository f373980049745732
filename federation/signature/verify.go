package signature

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// requestSignature is a request's signature as the headers of its scheme,
// draft-cavage or RFC 9421, state it.
type requestSignature interface {
	signingKeyID() string
	// precheck makes the checks that need no key.
	precheck(r *http.Request, body []byte, now time.Time) error
	// verifyWith checks the signature itself.
	verifyWith(r *http.Request, key crypto.PublicKey) error
}

// parseRequest reads r's signature: RFC 9421 when r carries a
// Signature-Input header, draft-cavage otherwise.
func parseRequest(r *http.Request) (requestSignature, error) {
	if isMessageSignature(r) {
		m, err := parseMessageSignature(r)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	p, err := cavageParamsOf(r)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// KeyID returns the id of the key the request says it is signed with,
// without checking anything else, so the caller can look the key up (and
// refuse blocked domains) before any crypto or network work. Of several RFC
// 9421 signatures, it is that of the first one with a keyid and a supported
// algorithm, the one Precheck and Verify check.
func KeyID(r *http.Request) (string, error) {
	s, err := parseRequest(r)
	if err != nil {
		return "", err
	}
	return s.signingKeyID(), nil
}

// Verify checks the signature on r against the sender's key, then
// everything Precheck does.
//
// A draft-cavage signature is checked by go-fed as RSA-SHA256, so key must
// be an *rsa.PublicKey. An RFC 9421 signature may be rsa-v1_5-sha256 or
// rsa-pss-sha512 with an *rsa.PublicKey, or ed25519 with an
// ed25519.PublicKey; without an alg parameter the key's type decides
// between rsa-v1_5-sha256 and ed25519.
//
// Every error is an *Error; only ErrInvalidSignature suggests the key may
// have changed.
func Verify(r *http.Request, body []byte, key crypto.PublicKey, now time.Time) error {
	s, err := parseRequest(r)
	if err != nil {
		return err
	}
	if err := s.verifyWith(r, key); err != nil {
		return err
	}
	return s.precheck(r, body, now)
}

// Precheck makes every check of Verify that needs no key. A receiver runs it
// before fetching the sender's key, so that a stale replay or a tampered
// body costs it no request to another server. It asks:
//
//   - of a draft-cavage signature, that it covers date or (created), and
//     (request-target); for a POST also digest, for a GET or HEAD also host;
//   - of an RFC 9421 signature, that it covers @method and the whole target
//     (@target-uri, or @authority with @request-target, or with @path and
//     also @query when the URL has one); for a POST also content-digest or
//     digest; and that it has a created parameter;
//   - for a POST, that the covered Digest (SHA-256) or Content-Digest
//     (sha-256 or sha-512) matches body exactly;
//   - that the signed Date, and created and expires when signed, fall
//     inside the window described at Validity, judged at now.
//
// Besides, go-fed itself refuses a draft-cavage created more than ten
// seconds ahead of the wall clock and an expires more than ten seconds past
// it.
func Precheck(r *http.Request, body []byte, now time.Time) error {
	s, err := parseRequest(r)
	if err != nil {
		return err
	}
	return s.precheck(r, body, now)
}

// checkDigest compares the SHA-256 entry of the Digest header (RFC 3230: a
// comma-separated list of algorithm=value) with the body's hash.
func checkDigest(h http.Header, body []byte) error {
	values := h.Values("Digest")
	if len(values) == 0 {
		return fail(ErrMissingHeader, "digest")
	}
	for _, entry := range strings.Split(strings.Join(values, ","), ",") {
		algorithm, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || !strings.EqualFold(algorithm, "sha-256") {
			continue
		}
		claimed, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return fail(ErrDigestMismatch, "not base64")
		}
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare(claimed, sum[:]) != 1 {
			return fail(ErrDigestMismatch, "")
		}
		return nil
	}
	return fail(ErrDigestAlgorithm, "Digest needs a SHA-256 value")
}

// checkWindow applies Mastodon's window to a signature's created and expires
// parameters, either of which may be zero when absent: it expires Validity
// after created unless it says otherwise (within MaxValidity), and is
// refused once expired by more than Skew or when created more than Skew
// ahead.
func checkWindow(created, expires int64, now time.Time) error {
	var expiry time.Time
	if created != 0 {
		createdAt := time.Unix(created, 0)
		if ahead := createdAt.Sub(now); ahead > Skew {
			return fail(ErrDateInFuture, "created "+ahead.Truncate(time.Second).String()+" ahead")
		}
		expiry = createdAt.Add(Validity)
		if expires != 0 {
			expiry = time.Unix(expires, 0)
			if limit := createdAt.Add(MaxValidity); expiry.After(limit) {
				expiry = limit
			}
		}
	} else {
		expiry = time.Unix(expires, 0)
	}
	if now.Sub(expiry) > Skew {
		return fail(ErrExpired, "")
	}
	return nil
}
