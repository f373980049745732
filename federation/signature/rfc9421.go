package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The RFC 9421 algorithms this package verifies.
const (
	algRSAPKCS1SHA256 = "rsa-v1_5-sha256"
	algRSAPSSSHA512   = "rsa-pss-sha512"
	algEd25519        = "ed25519"
)

// rsaPSSSaltLength is the salt length RFC 9421 fixes for rsa-pss-sha512.
const rsaPSSSaltLength = 64

// derivedComponents are the derived components of a request this package
// computes. @query-param is left out, as it needs component parameters and
// @query or @target-uri cover the query whole; @status belongs to responses.
var derivedComponents = []string{"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}

// messageSignature is the one RFC 9421 signature of a request this package
// checks, chosen among its labels by chooseInput.
type messageSignature struct {
	keyID      string
	alg        string   // empty when absent
	created    int64    // zero when absent
	expires    int64    // zero when absent
	components []string // covered components, in signed order
	params     string   // the @signature-params value, serialized canonically
	value      []byte
}

func isMessageSignature(r *http.Request) bool {
	return len(r.Header.Values("Signature-Input")) > 0
}

// parseMessageSignature reads the request's Signature-Input and Signature
// headers, whose several lines, if any, form one field each.
func parseMessageSignature(r *http.Request) (*messageSignature, error) {
	signatures := r.Header.Values("Signature")
	if len(signatures) == 0 {
		return nil, fail(ErrNoSignature, "")
	}
	inputs, err := parseDictionary(strings.Join(r.Header.Values("Signature-Input"), ", "))
	if err != nil {
		return nil, fail(ErrMalformed, "Signature-Input: "+err.Error())
	}
	values, err := parseDictionary(strings.Join(signatures, ", "))
	if err != nil {
		return nil, fail(ErrMalformed, "Signature: "+err.Error())
	}
	input, err := chooseInput(inputs)
	if err != nil {
		return nil, err
	}
	m, err := newMessageSignature(input)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(values, func(v member) bool { return v.key == input.key })
	if i < 0 {
		return nil, fail(ErrMalformed, "Signature has no "+input.key)
	}
	if m.value, _ = values[i].value.([]byte); len(m.value) == 0 {
		return nil, fail(ErrMalformed, "Signature "+input.key+" is empty or not a byte sequence")
	}
	return m, nil
}

// chooseInput picks the first signature that names its key and an algorithm
// this package knows, or none: a request may carry, besides its sender's,
// signatures meant for someone else.
func chooseInput(inputs []member) (member, error) {
	var unsupported string
	for _, in := range inputs {
		if _, ok := in.value.([]item); !ok {
			continue
		}
		if keyID, _ := paramValue(in.params, "keyid").(string); keyID == "" {
			continue
		}
		switch alg := paramValue(in.params, "alg").(type) {
		case nil:
			return in, nil
		case string:
			if alg == algRSAPKCS1SHA256 || alg == algRSAPSSSHA512 || alg == algEd25519 {
				return in, nil
			}
			unsupported = alg
		default:
			unsupported = "alg that is not a string"
		}
	}
	if unsupported != "" {
		return member{}, fail(ErrUnsupportedAlgorithm, unsupported)
	}
	return member{}, fail(ErrMalformed, "no signature in Signature-Input has a keyid")
}

func newMessageSignature(input member) (*messageSignature, error) {
	items := input.value.([]item)
	m := &messageSignature{params: serializeInnerList(items, input.params)}
	m.keyID, _ = paramValue(input.params, "keyid").(string)
	m.alg, _ = paramValue(input.params, "alg").(string)
	var err error
	if m.created, err = timestamp(input.params, "created"); err != nil {
		return nil, err
	}
	if m.expires, err = timestamp(input.params, "expires"); err != nil {
		return nil, err
	}
	for _, it := range items {
		name, ok := it.value.(string)
		if !ok {
			return nil, fail(ErrMalformed, "a covered component is not a string")
		}
		if len(it.params) > 0 {
			return nil, fail(ErrMalformed, "parameters of covered components are not supported")
		}
		if !supportedComponent(name) {
			return nil, fail(ErrMalformed, "unsupported component "+name)
		}
		if m.covers(name) {
			return nil, fail(ErrMalformed, "component "+name+" is covered twice")
		}
		m.components = append(m.components, name)
	}
	return m, nil
}

// timestamp reads the parameter name as Unix time, zero when absent.
func timestamp(params []param, name string) (int64, error) {
	switch v := paramValue(params, name).(type) {
	case nil:
		return 0, nil
	case int64:
		if v > 0 {
			return v, nil
		}
	}
	return 0, fail(ErrMalformed, "bad "+name)
}

// supportedComponent accepts the derived components above and lower-cased
// field names. Names made of token characters only also need no escaping in
// the signature base.
func supportedComponent(name string) bool {
	if strings.HasPrefix(name, "@") {
		return slices.Contains(derivedComponents, name)
	}
	if name == "" {
		return false
	}
	for i := range len(name) {
		if c := name[i]; !isTokenChar(c) || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func (m *messageSignature) covers(component string) bool {
	return slices.Contains(m.components, component)
}

func (m *messageSignature) signingKeyID() string { return m.keyID }

func (m *messageSignature) precheck(r *http.Request, body []byte, now time.Time) error {
	if err := m.checkCoverage(r); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if m.covers("content-digest") {
			if err := checkContentDigest(r.Header, body); err != nil {
				return err
			}
		}
		if m.covers("digest") {
			if err := checkDigest(r.Header, body); err != nil {
				return err
			}
		}
	}
	return checkWindow(m.created, m.expires, now)
}

// checkCoverage asks of a message signature what draft-cavage asks of its
// headers list: the method and the whole target, for a POST the digest of
// the body, and a creation time.
func (m *messageSignature) checkCoverage(r *http.Request) error {
	if !m.covers("@method") {
		return fail(ErrNotCovered, "@method")
	}
	switch {
	case m.covers("@target-uri"), m.covers("@authority") && m.covers("@request-target"):
	case m.covers("@authority") && m.covers("@path"):
		// @path leaves out the query, which can name another resource.
		if r.URL.RawQuery != "" && !m.covers("@query") {
			return fail(ErrNotCovered, "@query")
		}
	default:
		return fail(ErrNotCovered, "@target-uri")
	}
	// RFC 9530's Content-Digest is the one RFC 9421 senders use; a sender
	// moving from draft-cavage may still sign the older Digest.
	if r.Method == http.MethodPost && !m.covers("content-digest") && !m.covers("digest") {
		return fail(ErrNotCovered, "content-digest")
	}
	if m.created == 0 {
		return fail(ErrNotCovered, "created")
	}
	return nil
}

// checkContentDigest compares every SHA-2 entry of the Content-Digest header
// (RFC 9530) with the body's hash; other algorithms are skipped, but at
// least one entry must be SHA-2.
func checkContentDigest(h http.Header, body []byte) error {
	values := h.Values("Content-Digest")
	if len(values) == 0 {
		return fail(ErrMissingHeader, "content-digest")
	}
	digests, err := parseDictionary(strings.Join(values, ", "))
	if err != nil {
		return fail(ErrDigestMismatch, "malformed Content-Digest")
	}
	checked := false
	for _, d := range digests {
		var sum []byte
		switch d.key {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		claimed, _ := d.value.([]byte)
		if subtle.ConstantTimeCompare(claimed, sum) != 1 {
			return fail(ErrDigestMismatch, "")
		}
		checked = true
	}
	if !checked {
		return fail(ErrDigestAlgorithm, "Content-Digest needs sha-256 or sha-512")
	}
	return nil
}

func (m *messageSignature) verifyWith(r *http.Request, key crypto.PublicKey) error {
	verify, err := m.verifier(key)
	if err != nil {
		return err
	}
	var previous string
	for _, scheme := range schemes(r) {
		base, err := m.base(r, scheme)
		if err != nil {
			return err
		}
		if base == previous {
			continue
		}
		if verify([]byte(base)) {
			return nil
		}
		previous = base
	}
	return fail(ErrInvalidSignature, "")
}

// verifier resolves the algorithm from alg or, without one, from the key. A
// key that cannot have made the signature counts as a signature that does
// not verify, since the sender may have replaced its key with one of another
// type.
func (m *messageSignature) verifier(key crypto.PublicKey) (func(base []byte) bool, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil {
			break
		}
		switch m.alg {
		case "", algRSAPKCS1SHA256:
			return func(base []byte) bool {
				sum := sha256.Sum256(base)
				return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], m.value) == nil
			}, nil
		case algRSAPSSSHA512:
			return func(base []byte) bool {
				sum := sha512.Sum512(base)
				return rsa.VerifyPSS(k, crypto.SHA512, sum[:], m.value, &rsa.PSSOptions{SaltLength: rsaPSSSaltLength}) == nil
			}, nil
		}
		return nil, fail(ErrInvalidSignature, "the key is RSA, the signature "+m.alg)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			break
		}
		if m.alg == "" || m.alg == algEd25519 {
			return func(base []byte) bool { return ed25519.Verify(k, base, m.value) }, nil
		}
		return nil, fail(ErrInvalidSignature, "the key is Ed25519, the signature "+m.alg)
	}
	return nil, fail(ErrUnsupportedAlgorithm, "the key is neither RSA nor Ed25519")
}

// schemes lists the schemes r may have been sent with, most likely first.
// net/http tells a server nothing of the scheme but r.TLS. In production a
// reverse proxy ends TLS in front of Hearth, so a request arriving in plain
// text was most likely sent as https and is tried so first; X-Forwarded-Proto
// is not read, since anyone who reaches the port can set it. Without TLS,
// http is tried too, for a server reached directly (and for tests). That
// gives a forger nothing: the scheme is all that can differ, and the sender
// did sign this method, authority, path and query. Over TLS only https can
// be right.
func schemes(r *http.Request) []string {
	if r.TLS != nil {
		return []string{"https"}
	}
	return []string{"https", "http"}
}

// base builds the signature base of RFC 9421, section 2.5, as if r had been
// sent with scheme.
func (m *messageSignature) base(r *http.Request, scheme string) (string, error) {
	var b strings.Builder
	for _, name := range m.components {
		value, err := componentValue(r, name, scheme)
		if err != nil {
			return "", err
		}
		// A line break would let a value forge the lines after it.
		if strings.ContainsAny(value, "\r\n") {
			return "", fail(ErrMalformed, name+" holds a line break")
		}
		b.WriteString(`"` + name + `": ` + value + "\n")
	}
	b.WriteString(`"@signature-params": ` + m.params)
	return b.String(), nil
}

func componentValue(r *http.Request, name, scheme string) (string, error) {
	switch name {
	case "@method":
		return r.Method, nil
	case "@scheme":
		return scheme, nil
	case "@authority":
		return authority(r, scheme)
	case "@target-uri":
		host, err := authority(r, scheme)
		return scheme + "://" + host + originForm(r.URL), err
	case "@request-target":
		return originForm(r.URL), nil
	case "@path":
		return absolutePath(r.URL), nil
	case "@query":
		return "?" + r.URL.RawQuery, nil
	}
	values := r.Header.Values(name)
	if len(values) == 0 && name == "host" && r.Host != "" {
		// net/http moves the Host header of a request it receives to r.Host.
		values = []string{r.Host}
	}
	if len(values) == 0 {
		return "", fail(ErrMissingHeader, name)
	}
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Trim(v, " \t")
	}
	return strings.Join(trimmed, ", "), nil
}

// authority is the request's host, normalized as RFC 9110, section 4.2.3,
// asks: lower-cased, without the scheme's default port.
func authority(r *http.Request, scheme string) (string, error) {
	if r.Host == "" {
		return "", fail(ErrMissingHeader, "host")
	}
	defaultPort := ":443"
	if scheme == "http" {
		defaultPort = ":80"
	}
	return strings.TrimSuffix(strings.ToLower(r.Host), defaultPort), nil
}

func absolutePath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// originForm is the request target as a client sends it to an origin
// server: the path and the query.
func originForm(u *url.URL) string {
	if u.RawQuery != "" || u.ForceQuery {
		return absolutePath(u) + "?" + u.RawQuery
	}
	return absolutePath(u)
}
