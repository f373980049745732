package signature

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Pseudo-headers of draft-cavage that are not read from the request's headers.
const (
	requestTarget = "(request-target)"
	createdHeader = "(created)"
	expiresHeader = "(expires)"
)

// params is a parsed draft-cavage Signature header.
type params struct {
	keyID     string
	algorithm string   // lower-cased; empty when absent
	headers   []string // lower-cased, in signed order; defaults to "date"
	signature string
	created   int64 // zero when absent
	expires   int64 // zero when absent or not among the signed headers
}

// requestParams finds and parses the request's Signature header.
func requestParams(r *http.Request) (params, error) {
	values := r.Header.Values("Signature")
	rfc9421 := r.Header.Get("Signature-Input") != ""
	if len(values) == 0 {
		if rfc9421 {
			return params{}, fail(ErrUnsupportedScheme, "")
		}
		return params{}, fail(ErrNoSignature, "")
	}
	if len(values) > 1 {
		return params{}, fail(ErrMalformed, "more than one Signature header")
	}
	p, err := parseSignature(values[0])
	if err != nil && rfc9421 {
		// RFC 9421 also names its header Signature, in a syntax of its own.
		return params{}, fail(ErrUnsupportedScheme, "")
	}
	return p, err
}

// parseSignature reads the comma-separated name=value list of a Signature
// header. It is stricter than go-fed's own parser where the two could
// disagree: it refuses repeated parameters and quoted values holding commas,
// so the canonical form it hands to go-fed (see canonical) means exactly what
// this package checked.
func parseSignature(value string) (params, error) {
	var p params
	seen := make(map[string]bool)
	rest := value
	for {
		rest = strings.TrimLeft(rest, " \t")
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return params{}, fail(ErrMalformed, "expected name=value")
		}
		name := strings.ToLower(strings.TrimRight(rest[:eq], " \t"))
		if strings.ContainsAny(name, " \t,\"") {
			return params{}, fail(ErrMalformed, "bad parameter name")
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return params{}, fail(ErrMalformed, "unterminated quoted value")
			}
			val, rest = rest[1:1+end], rest[2+end:]
			if strings.ContainsAny(val, ",\\") {
				return params{}, fail(ErrMalformed, "unsupported character in "+name)
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
				return params{}, fail(ErrMalformed, "bad value for "+name)
			}
		}
		if seen[name] {
			return params{}, fail(ErrMalformed, "repeated parameter "+name)
		}
		seen[name] = true
		if err := p.set(name, val); err != nil {
			return params{}, err
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return params{}, fail(ErrMalformed, "expected a comma after "+name)
		}
		rest = rest[1:]
	}
	if p.keyID == "" {
		return params{}, fail(ErrMalformed, "no keyId")
	}
	if p.signature == "" {
		return params{}, fail(ErrMalformed, "no signature")
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

func (p *params) set(name, val string) error {
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
func (p params) canonical() string {
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

func (p params) signs(header string) bool { return slices.Contains(p.headers, header) }

// KeyID returns the keyId of the request's Signature header without checking
// anything else, so the caller can look the key up (and refuse blocked
// domains) before any crypto or network work.
func KeyID(r *http.Request) (string, error) {
	p, err := requestParams(r)
	if err != nil {
		return "", err
	}
	return p.keyID, nil
}
