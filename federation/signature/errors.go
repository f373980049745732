// Package signature signs outgoing requests with draft-cavage HTTP
// signatures, the scheme every ActivityPub server speaks, and verifies
// incoming ones signed either that way or with RFC 9421 HTTP Message
// Signatures, which servers built on Fedify try first and Mastodon accepts
// since 4.5.
//
// Signing and the check of a draft-cavage signature string itself are done
// by github.com/go-fed/httpsig; RFC 9421 is handled here. Neither scheme
// checks anything else, so this package adds what a strict peer expects: the
// list of signed components, the digest of the body and the freshness of
// the signature, with Mastodon's limits.
package signature

import (
	"errors"
	"time"
)

// The reasons a request can be refused. Verify and KeyID return them wrapped
// in an *Error, so test with errors.Is. Every message is short and safe to
// send back to the peer in a 401 body.
var (
	// ErrNoSignature: the request carries no Signature header.
	ErrNoSignature = errors.New("request is not signed")
	// ErrMalformed: the Signature header, or with RFC 9421 the
	// Signature-Input header, cannot be parsed or names what this package
	// cannot compute.
	ErrMalformed = errors.New("malformed signature")
	// ErrUnsupportedAlgorithm: the signature's algorithm is none this
	// package verifies (RSA-SHA256 for draft-cavage; rsa-v1_5-sha256,
	// rsa-pss-sha512 or ed25519 for RFC 9421), or the key is of a type none
	// of them takes.
	ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")
	// ErrMissingHeader: a header named in the signed list is absent.
	ErrMissingHeader = errors.New("signed header is absent from the request")
	// ErrInvalidSignature: the signature does not match the key. This alone
	// among the reasons may mean the sender rotated its key, so a caller
	// holding a cached key may fetch it again and retry once.
	ErrInvalidSignature = errors.New("signature does not verify")
	// ErrNotCovered: a header or component the request must sign is not in
	// the signed list, or an RFC 9421 signature has no created parameter.
	ErrNotCovered = errors.New("required header is not signed")
	// ErrDigestAlgorithm: the Digest header has no SHA-256 value, or the
	// Content-Digest header neither a sha-256 nor a sha-512 one.
	ErrDigestAlgorithm = errors.New("unsupported digest algorithm")
	// ErrDigestMismatch: the digest header does not match the body received.
	ErrDigestMismatch = errors.New("digest does not match body")
	// ErrDateMalformed: the signed Date header is not an HTTP date.
	ErrDateMalformed = errors.New("date is malformed")
	// ErrDateTooOld: the signed Date is older than MaxAge.
	ErrDateTooOld = errors.New("date too old")
	// ErrDateInFuture: Date or created is further ahead than Skew.
	ErrDateInFuture = errors.New("date is in the future")
	// ErrExpired: the signature's created or expires parameter says it has expired.
	ErrExpired = errors.New("signature expired")
)

// The time window, as Mastodon applies it: a signature is valid for
// Validity after it was created (or until its signed expires, at most
// MaxValidity), and clocks may disagree by Skew either way. For a request
// signed over Date that makes it acceptable up to MaxAge after Date.
const (
	Validity    = 5 * time.Minute
	MaxValidity = 12 * time.Hour
	Skew        = time.Hour
	MaxAge      = Validity + Skew
)

// Error is a refused signature: Reason is one of the Err values above and
// Detail, when set, says which header or how far off, in words just as safe
// to show the peer.
type Error struct {
	Reason error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Reason }

func fail(reason error, detail string) error {
	return &Error{Reason: reason, Detail: detail}
}
