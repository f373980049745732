package signature

import (
	"crypto"
	"crypto/rsa"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Pseudo-headers of draft-cavage that are not read from the request's headers.
const (
	requestTarget = "(request-target)"
	createdHeader = "(created)"
	expiresHeader = "(expires)"
)

// cavageParams is a parsed draft-cavage Signature header.
type cavageParams struct {
	keyID     string
	algorithm string   // lower-cased; empty when absent
	headers   []string // lower-cased, in signed order; defaults to "date"
	signature string
	created   int64 // zero when absent
	expires   int64 // zero when absent or not among the signed headers
}

// cavageParamsOf finds and parses the request's Signature header.
func cavageParamsOf(r *http.Request) (cavageParams, error) {
	values := r.Header.Values("Signature")
	if len(values) == 0 {
		return cavageParams{}, fail(ErrNoSignature, "")
	}
	if len(values) > 1 {
		return cavageParams{}, fail(ErrMalformed, "more than one Signature header")
	}
	return parseCavage(values[0])
}

// parseCavage reads the comma-separated name=value list of a Signature
// header. It is stricter than go-fed's own parser where the two could
// disagree: it refuses repeated parameters and quoted values holding commas,
// so the canonical form it hands to go-fed (see canonical) means exactly what
// this package checked.
func parseCavage(value string) (cavageParams, error) {
	var p cavageParams
	seen := make(map[string]bool)
	rest := value
	for {
		rest = strings.TrimLeft(rest, " \t")
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return cavageParams{}, fail(ErrMalformed, "expected name=value")
		}
		name := strings.ToLower(strings.TrimRight(rest[:eq], " \t"))
		if strings.ContainsAny(name, " \t,\"") {
			return cavageParams{}, fail(ErrMalformed, "bad parameter name")
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return cavageParams{}, fail(ErrMalformed, "unterminated quoted value")
			}
			val, rest = rest[1:1+end], rest[2+end:]
			if strings.ContainsAny(val, ",\\") {
				return cavageParams{}, fail(ErrMalformed, "unsupported character in "+name)
			}
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimRight(rest[:end], " \t"), rest[end:]
			// The same characters are refused as in quoted values, so that
			// every value survives being quoted in the canonical form.
			if strings.ContainsAny(val, "\"\\ \t") {
				return cavageParams{}, fail(ErrMalformed, "bad value for "+name)
			}
		}
		if seen[name] {
			return cavageParams{}, fail(ErrMalformed, "repeated parameter "+name)
		}
		seen[name] = true
		if err := p.set(name, val); err != nil {
			return cavageParams{}, err
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return cavageParams{}, fail(ErrMalformed, "expected a comma after "+name)
		}
		rest = rest[1:]
	}
	if p.keyID == "" {
		return cavageParams{}, fail(ErrMalformed, "no keyId")
	}
	if p.signature == "" {
		return cavageParams{}, fail(ErrMalformed, "no signature")
	}
	if p.headers == nil {
		p.headers = []string{"date"}
	}
	if !p.signs(expiresHeader) {
		// Anyone replaying the request could append an expires the
		// signature does not cover, and so stretch its life.
		p.expires = 0
	}
	return p, nil
}

func (p *cavageParams) set(name, val string) error {
	switch name {
	case "keyid":
		p.keyID = val
	case "algorithm":
		p.algorithm = strings.ToLower(val)
	case "headers":
		p.headers = strings.Fields(strings.ToLower(val))
		if len(p.headers) == 0 {
			return fail(ErrMalformed, "empty headers list")
		}
	case "signature":
		p.signature = val
	case "created", "expires":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 {
			return fail(ErrMalformed, "bad "+name)
		}
		if name == "created" {
			p.created = n
		} else {
			p.expires = n
		}
	}
	return nil
}

// canonical writes p back in the exact layout go-fed's naive parser reads:
// no spaces, every parameter present once, headers spelled out.
func (p cavageParams) canonical() string {
	var b strings.Builder
	b.WriteString(`keyId="` + p.keyID + `"`)
	if p.algorithm != "" {
		b.WriteString(`,algorithm="` + p.algorithm + `"`)
	}
	if p.created != 0 {
		b.WriteString(",created=" + strconv.FormatInt(p.created, 10))
	}
	if p.expires != 0 {
		b.WriteString(",expires=" + strconv.FormatInt(p.expires, 10))
	}
	b.WriteString(`,headers="` + strings.Join(p.headers, " ") + `"`)
	b.WriteString(`,signature="` + p.signature + `"`)
	return b.String()
}

func (p cavageParams) signs(header string) bool { return slices.Contains(p.headers, header) }

func (p cavageParams) signingKeyID() string { return p.keyID }

func (p cavageParams) precheck(r *http.Request, body []byte, now time.Time) error {
	if err := p.checkCoverage(r.Method); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if err := checkDigest(r.Header, body); err != nil {
			return err
		}
	}
	return p.checkTime(r.Header, now)
}

// verifyWith checks the signature string with go-fed, as RSA-SHA256 whatever
// the algorithm label (rsa-sha256 or hs2019; the label no longer names the
// algorithm).
func (p cavageParams) verifyWith(r *http.Request, key crypto.PublicKey) error {
	switch p.algorithm {
	case "", "hs2019", "rsa-sha256":
	default:
		return fail(ErrUnsupportedAlgorithm, p.algorithm)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok || rsaKey == nil {
		return fail(ErrUnsupportedAlgorithm, "draft-cavage signatures need an RSA key")
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
	if err := verifier.Verify(rsaKey, httpsig.RSA_SHA256); err != nil {
		return fail(ErrInvalidSignature, "")
	}
	return nil
}

func (p cavageParams) checkCoverage(method string) error {
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

// checkTime applies the window to the signed Date, and to created and
// expires when present.
func (p cavageParams) checkTime(h http.Header, now time.Time) error {
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
	return checkWindow(p.created, p.expires, now)
}
