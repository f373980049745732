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

// requestSignature is a request's signature as the headers of its scheme
// state it.
type requestSignature interface {
	signingKeyID() string
	// precheck makes the checks that need no key.
	precheck(r *http.Request, body []byte, now time.Time) error
	// verifyWith checks the signature itself.
	verifyWith(r *http.Request, key crypto.PublicKey) error
}

// parseRequest reads r's signature.
func parseRequest(r *http.Request) (requestSignature, error) {
	p, err := cavageParamsOf(r)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// KeyID returns the keyId of the request's Signature header without checking
// anything else, so the caller can look the key up (and refuse blocked
// domains) before any crypto or network work.
func KeyID(r *http.Request) (string, error) {
	s, err := parseRequest(r)
	if err != nil {
		return "", err
	}
	return s.signingKeyID(), nil
}

// Verify checks a draft-cavage signature on r against the sender's key, an
// *rsa.PublicKey, with RSA-SHA256 whatever the algorithm label (rsa-sha256
// or hs2019; the label no longer names the algorithm), then everything
// Precheck does.
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

// Precheck makes every check of Verify that needs no key, which go-fed
// leaves to its caller:
//
//   - the signed list covers date or (created), and (request-target); a POST
//     also covers digest and a GET or HEAD covers host;
//   - for a POST, the SHA-256 Digest matches body exactly;
//   - the signed Date, and created and expires when signed, fall inside
//     Mastodon's window (see MaxAge and Skew), judged at now.
//
// Besides, go-fed itself refuses a created more than ten seconds ahead of
// the wall clock and an expires more than ten seconds past it.
//
// A receiver runs Precheck before fetching the sender's key, so that a stale
// replay or a tampered body costs it no request to another server.
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
	for _, entry := range strings.Split(strings.Join(h.Values("Digest"), ","), ",") {
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
	return fail(ErrDigestAlgorithm, "")
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
