package signature

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Verify checks a draft-cavage signature on r against the sender's key, and
// then everything go-fed leaves to its caller, in this order:
//
//   - the signature string, with RSA-SHA256 whatever the algorithm label
//     (rsa-sha256 or hs2019; the label no longer names the algorithm);
//   - the signed list covers date or (created), and (request-target); a POST
//     also covers digest and a GET or HEAD covers host;
//   - for a POST, the SHA-256 Digest matches body exactly;
//   - the signed Date, and created/expires when present, fall inside
//     Mastodon's window (see MaxAge and Skew), judged at now.
//
// Besides, go-fed itself refuses a created more than ten seconds ahead of the
// wall clock and an expires more than ten seconds past it.
//
// Every error is an *Error; only ErrInvalidSignature suggests the key may
// have changed.
func Verify(r *http.Request, body []byte, key *rsa.PublicKey, now time.Time) error {
	p, err := requestParams(r)
	if err != nil {
		return err
	}
	if err := verifySignature(r, p, key); err != nil {
		return err
	}
	return precheck(r, p, body, now)
}

// Precheck makes every check of Verify that needs no key: the signed list,
// the digest and the time window. A receiver runs it before fetching the
// sender's key, so that a stale replay or a tampered body costs it no
// request to another server.
func Precheck(r *http.Request, body []byte, now time.Time) error {
	p, err := requestParams(r)
	if err != nil {
		return err
	}
	return precheck(r, p, body, now)
}

func precheck(r *http.Request, p params, body []byte, now time.Time) error {
	if err := checkCoverage(r.Method, p); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if err := checkDigest(r.Header, body); err != nil {
			return err
		}
	}
	return checkTime(r.Header, p, now)
}

func verifySignature(r *http.Request, p params, key *rsa.PublicKey) error {
	switch p.algorithm {
	case "", "hs2019", "rsa-sha256":
	default:
		return fail(ErrUnsupportedAlgorithm, p.algorithm)
	}
	if key == nil {
		return fail(ErrUnsupportedAlgorithm, "no RSA key")
	}
	for _, h := range p.headers {
		switch h {
		case requestTarget:
		case createdHeader:
			if p.created == 0 {
				return fail(ErrMalformed, "(created) is signed but has no created parameter")
			}
		case expiresHeader:
			if p.expires == 0 {
				return fail(ErrMalformed, "(expires) is signed but has no expires parameter")
			}
		case "host":
			if r.Host == "" && r.Header.Get("Host") == "" {
				return fail(ErrMissingHeader, h)
			}
		default:
			if len(r.Header.Values(h)) == 0 {
				return fail(ErrMissingHeader, h)
			}
		}
	}

	// go-fed reads a copy carrying the canonical form of what was parsed,
	// so its parser and ours cannot disagree on the signed list, and so the
	// Host it adds does not leak into the caller's request.
	view := *r
	view.Header = r.Header.Clone()
	view.Header.Set("Signature", p.canonical())
	if !p.signs("authorization") {
		// go-fed refuses a request whose Authorization header merely
		// contains the word "signature".
		view.Header.Del("Authorization")
	}
	verifier, err := httpsig.NewVerifier(&view)
	if err != nil {
		// The canonical form always parses, so go-fed objects to created
		// or expires against the wall clock, or to Authorization.
		wallClock := time.Now().Unix()
		switch {
		case p.created > wallClock:
			return fail(ErrDateInFuture, "created")
		case p.expires != 0 && p.expires < wallClock:
			return fail(ErrExpired, "")
		}
		return fail(ErrMalformed, "Authorization header holds signature parameters")
	}
	if err := verifier.Verify(key, httpsig.RSA_SHA256); err != nil {
		return fail(ErrInvalidSignature, "")
	}
	return nil
}

func checkCoverage(method string, p params) error {
	if !p.signs("date") && !p.signs(createdHeader) {
		return fail(ErrNotCovered, "date")
	}
	if !p.signs(requestTarget) {
		return fail(ErrNotCovered, requestTarget)
	}
	switch method {
	case http.MethodPost:
		if !p.signs("digest") {
			return fail(ErrNotCovered, "digest")
		}
	case http.MethodGet, http.MethodHead:
		if !p.signs("host") {
			return fail(ErrNotCovered, "host")
		}
	}
	return nil
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

// checkTime applies Mastodon's window: a signature is created at Date (or its
// created parameter), expires Validity later unless it says otherwise, and
// is refused once expired by more than Skew or when created more than Skew
// ahead.
func checkTime(h http.Header, p params, now time.Time) error {
	if p.signs("date") {
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			return fail(ErrDateMalformed, "")
		}
		if ahead := date.Sub(now); ahead > Skew {
			return fail(ErrDateInFuture, ahead.Truncate(time.Second).String()+" ahead")
		}
		if age := now.Sub(date); age > MaxAge {
			return fail(ErrDateTooOld, age.Truncate(time.Second).String()+" old")
		}
	}
	if p.created == 0 && p.expires == 0 {
		return nil
	}
	var expiry time.Time
	if p.created != 0 {
		created := time.Unix(p.created, 0)
		if ahead := created.Sub(now); ahead > Skew {
			return fail(ErrDateInFuture, "created "+ahead.Truncate(time.Second).String()+" ahead")
		}
		expiry = created.Add(Validity)
		if p.expires != 0 {
			expiry = time.Unix(p.expires, 0)
			if limit := created.Add(MaxValidity); expiry.After(limit) {
				expiry = limit
			}
		}
	} else {
		expiry = time.Unix(p.expires, 0)
	}
	if now.Sub(expiry) > Skew {
		return fail(ErrExpired, "")
	}
	return nil
}
