package signature

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signedAt is when the messageSigner signs unless told otherwise; RFC 9421
// verification reads no wall clock, so tests can pin it.
var signedAt = time.Unix(1_750_000_000, 0)

var (
	edKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	otherEdKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
)

// messageSigner signs requests as an RFC 9421 sender would. It is written
// from the RFC on its own, apart from the verifier, so that the two agreeing
// means something.
type messageSigner struct {
	key        crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
	algorithm  string        // rsa-v1_5-sha256, rsa-pss-sha512 or ed25519
	omitAlg    bool          // leave the alg parameter out
	label      string        // sig1 when empty
	components []string
	noCreated  bool
	created    time.Time // signedAt when zero
	expires    time.Time // no expires parameter when zero
}

func (s messageSigner) sign(tb testing.TB, r *http.Request) {
	tb.Helper()
	var params strings.Builder
	params.WriteString("(")
	for i, c := range s.components {
		if i > 0 {
			params.WriteString(" ")
		}
		params.WriteString(`"` + c + `"`)
	}
	params.WriteString(")")
	if !s.noCreated {
		created := s.created
		if created.IsZero() {
			created = signedAt
		}
		params.WriteString(";created=" + strconv.FormatInt(created.Unix(), 10))
	}
	if !s.expires.IsZero() {
		params.WriteString(";expires=" + strconv.FormatInt(s.expires.Unix(), 10))
	}
	params.WriteString(`;keyid="` + testKeyID + `"`)
	if !s.omitAlg {
		params.WriteString(`;alg="` + s.algorithm + `"`)
	}

	var base strings.Builder
	for _, c := range s.components {
		base.WriteString(`"` + c + `": ` + signerComponent(r, c) + "\n")
	}
	base.WriteString(`"@signature-params": ` + params.String())

	var value []byte
	var err error
	switch s.algorithm {
	case "rsa-v1_5-sha256":
		sum := sha256.Sum256([]byte(base.String()))
		value, err = rsa.SignPKCS1v15(rand.Reader, s.key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "rsa-pss-sha512":
		sum := sha512.Sum512([]byte(base.String()))
		value, err = rsa.SignPSS(rand.Reader, s.key.(*rsa.PrivateKey), crypto.SHA512, sum[:], &rsa.PSSOptions{SaltLength: 64})
	case "ed25519":
		value = ed25519.Sign(s.key.(ed25519.PrivateKey), []byte(base.String()))
	default:
		tb.Fatalf("messageSigner cannot sign with %q", s.algorithm)
	}
	if err != nil {
		tb.Fatal(err)
	}
	label := s.label
	if label == "" {
		label = "sig1"
	}
	r.Header.Add("Signature-Input", label+"="+params.String())
	r.Header.Add("Signature", label+"=:"+base64.StdEncoding.EncodeToString(value)+":")
}

// signerComponent is a component's value as the sender, who knows the URL it
// sends to, sees it.
func signerComponent(r *http.Request, name string) string {
	switch name {
	case "@method":
		return r.Method
	case "@target-uri":
		return r.URL.String()
	case "@authority":
		return r.URL.Host
	case "@scheme":
		return r.URL.Scheme
	case "@request-target":
		return r.URL.RequestURI()
	case "@path":
		return r.URL.Path
	case "@query":
		return "?" + r.URL.RawQuery
	case "host":
		return r.URL.Host
	}
	return strings.Join(r.Header.Values(name), ", ")
}

func sha256Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

func sha512Digest(body []byte) string {
	sum := sha512.Sum512(body)
	return "sha-512=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

func edSigner(components ...string) messageSigner {
	return messageSigner{key: edKey, algorithm: "ed25519", components: components}
}

var (
	postComponents = []string{"@method", "@target-uri", "content-digest"}
	getComponents  = []string{"@method", "@target-uri"}
)

// post9421 is a POST of activity carrying a sha-256 Content-Digest, signed
// by s over postComponents unless s names others.
func post9421(tb testing.TB, s messageSigner) *http.Request {
	tb.Helper()
	r := newPost(tb, activity)
	r.Header.Set("Content-Digest", sha256Digest(activity))
	if s.components == nil {
		s.components = postComponents
	}
	s.sign(tb, r)
	return r
}

// get9421 is a GET of a URL with a query, signed by s over getComponents
// unless s names others.
func get9421(tb testing.TB, s messageSigner) *http.Request {
	tb.Helper()
	r := newGet(tb)
	if s.components == nil {
		s.components = getComponents
	}
	s.sign(tb, r)
	return r
}

func TestMessageSignatureAccepts(t *testing.T) {
	rsaKey, _ := testKeys(t)
	rsaPublic := &rsaKey.PublicKey
	rsaSigner := func(algorithm string) messageSigner { return messageSigner{key: rsaKey, algorithm: algorithm} }
	withoutAlg := func(s messageSigner) messageSigner { s.omitAlg = true; return s }
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		key     crypto.PublicKey
		now     time.Time
	}{
		{name: "ed25519 POST", request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) }},
		{name: "ed25519 POST without alg", request: func(t *testing.T) *http.Request { return post9421(t, withoutAlg(edSigner())) }},
		{name: "rsa-v1_5-sha256 POST", key: rsaPublic, request: func(t *testing.T) *http.Request {
			return post9421(t, rsaSigner("rsa-v1_5-sha256"))
		}},
		{name: "rsa-v1_5-sha256 POST without alg", key: rsaPublic, request: func(t *testing.T) *http.Request {
			return post9421(t, withoutAlg(rsaSigner("rsa-v1_5-sha256")))
		}},
		{name: "rsa-pss-sha512 POST", key: rsaPublic, request: func(t *testing.T) *http.Request {
			return post9421(t, rsaSigner("rsa-pss-sha512"))
		}},
		{name: "ed25519 GET", request: func(t *testing.T) *http.Request { return get9421(t, edSigner()) }},
		{name: "rsa-v1_5-sha256 GET", key: rsaPublic, request: func(t *testing.T) *http.Request {
			return get9421(t, rsaSigner("rsa-v1_5-sha256"))
		}},
		{name: "rsa-pss-sha512 GET", key: rsaPublic, request: func(t *testing.T) *http.Request {
			return get9421(t, rsaSigner("rsa-pss-sha512"))
		}},
		{name: "GET over @authority, @path and @query", request: func(t *testing.T) *http.Request {
			return get9421(t, edSigner("@method", "@authority", "@path", "@query"))
		}},
		{name: "GET over @authority and @request-target", request: func(t *testing.T) *http.Request {
			return get9421(t, edSigner("@method", "@authority", "@request-target"))
		}},
		{name: "GET over @scheme and more", request: func(t *testing.T) *http.Request {
			return get9421(t, edSigner("@method", "@scheme", "@authority", "@request-target", "host"))
		}},
		{name: "POST with a sha-512 Content-Digest", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Content-Digest", sha512Digest(activity))
			edSigner(postComponents...).sign(t, r)
			return r
		}},
		{name: "POST with several Content-Digest values", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Content-Digest", "md5=:AAAA:, "+sha512Digest(activity)+", "+sha256Digest(activity))
			edSigner(postComponents...).sign(t, r)
			return r
		}},
		{name: "POST signing the older Digest", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Digest", "SHA-256="+digestOf(activity))
			edSigner("@method", "@target-uri", "digest").sign(t, r)
			return r
		}},
		{name: "header fields trimmed and joined", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Content-Digest", sha256Digest(activity))
			r.Header["Accept"] = []string{"application/activity+json", "text/html"}
			edSigner(append(postComponents, "accept")...).sign(t, r)
			r.Header["Accept"] = []string{" application/activity+json\t", "text/html "}
			return r
		}},
		{name: "default port in Host", request: func(t *testing.T) *http.Request {
			r := post9421(t, edSigner("@method", "@authority", "@path", "content-digest"))
			r.Host = "Mastodon.Example:443"
			return r
		}},
		{name: "signed for http, received without TLS", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.URL.Scheme = "http"
			r.Header.Set("Content-Digest", sha256Digest(activity))
			edSigner("@method", "@target-uri", "@scheme", "content-digest").sign(t, r)
			return r
		}},
		{name: "signed for https, received over TLS", request: func(t *testing.T) *http.Request {
			r := post9421(t, edSigner())
			r.TLS = &tls.ConnectionState{}
			return r
		}},
		{name: "whitespace RFC 8941 allows", request: func(t *testing.T) *http.Request {
			r := post9421(t, edSigner())
			input := r.Header.Get("Signature-Input")
			input = strings.Replace(input, "(", "(  ", 1)
			input = strings.Replace(input, `" "`, `"   "`, -1)
			input = strings.Replace(input, ")", " )", 1)
			input = strings.Replace(input, ";keyid", "; keyid", 1)
			r.Header.Set("Signature-Input", " "+input+" ,\t other=();keyid=\"k\"  ")
			r.Header.Set("Signature", r.Header.Get("Signature")+" ,\tother=:AAAA:")
			return r
		}},
		{name: "Signature-Input and Signature over several lines", request: func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Content-Digest", sha256Digest(activity))
			r.Header.Set("Signature-Input", `proxy=("@method");keyid="https://proxy.example/key";alg="hmac-sha256"`)
			r.Header.Set("Signature", "proxy=:AAAA:")
			edSigner(postComponents...).sign(t, r)
			return r
		}},
		{name: "the first label without keyid is passed over", request: func(t *testing.T) *http.Request {
			r := post9421(t, edSigner())
			r.Header.Set("Signature-Input", `a=("@method");created=1`+", "+r.Header.Get("Signature-Input"))
			r.Header.Set("Signature", "a=:AAAA:, "+r.Header.Get("Signature"))
			return r
		}},
		{name: "the first supported label is the one checked", request: func(t *testing.T) *http.Request {
			r := post9421(t, edSigner())
			r.Header.Add("Signature-Input", `z=("@method");created=1;keyid="k";alg="ed25519"`)
			r.Header.Add("Signature", "z=:AAAA:")
			return r
		}},
		{name: "signed expires beyond Validity", now: signedAt.Add(2 * time.Hour), request: func(t *testing.T) *http.Request {
			s := edSigner()
			s.expires = signedAt.Add(3 * time.Hour)
			return post9421(t, s)
		}},
		{name: "created within the window", now: signedAt.Add(MaxAge - time.Minute), request: func(t *testing.T) *http.Request {
			return post9421(t, edSigner())
		}},
		{name: "created ahead within Skew", now: signedAt.Add(-Skew + time.Minute), request: func(t *testing.T) *http.Request {
			return post9421(t, edSigner())
		}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			r := test.request(t)
			key, now := test.key, test.now
			if key == nil {
				key = edKey.Public()
			}
			if now.IsZero() {
				now = signedAt
			}
			if err := Verify(r, activity, key, now); err != nil {
				t.Fatalf("Verify = %v, want success\nSignature-Input: %s", err, r.Header.Get("Signature-Input"))
			}
			if got, err := KeyID(r); got != testKeyID || err != nil {
				t.Errorf("KeyID = %q, %v; want %q", got, err, testKeyID)
			}
		})
	}
}

func TestMessageSignatureRefuses(t *testing.T) {
	rsaKey, otherRSAKey := testKeys(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner := func(algorithm string) messageSigner { return messageSigner{key: rsaKey, algorithm: algorithm} }
	withInput := func(input, signature string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := newPost(t, activity)
			r.Header.Set("Content-Digest", sha256Digest(activity))
			r.Header.Set("Signature-Input", input)
			r.Header.Set("Signature", signature)
			return r
		}
	}
	const goodParams = `;created=1750000000;keyid="k"`
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		body    []byte
		key     crypto.PublicKey
		now     time.Time
		want    error
	}{
		{
			name:    "tampered body",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			body:    []byte(`{"type":"Delete"}`),
			want:    ErrDigestMismatch,
		},
		{
			name: "Content-Digest replaced to match a tampered body",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				r.Header.Set("Content-Digest", sha256Digest([]byte(`{"type":"Delete"}`)))
				return r
			},
			body: []byte(`{"type":"Delete"}`),
			want: ErrInvalidSignature,
		},
		{
			name:    "wrong Ed25519 key",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			key:     otherEdKey.Public(),
			want:    ErrInvalidSignature,
		},
		{
			name:    "wrong RSA key, rsa-v1_5-sha256",
			request: func(t *testing.T) *http.Request { return post9421(t, rsaSigner("rsa-v1_5-sha256")) },
			key:     &otherRSAKey.PublicKey,
			want:    ErrInvalidSignature,
		},
		{
			name:    "wrong RSA key, rsa-pss-sha512",
			request: func(t *testing.T) *http.Request { return get9421(t, rsaSigner("rsa-pss-sha512")) },
			key:     &otherRSAKey.PublicKey,
			want:    ErrInvalidSignature,
		},
		{
			name: "PSS signature labelled rsa-v1_5-sha256",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, rsaSigner("rsa-pss-sha512"))
				r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "rsa-pss-sha512", "rsa-v1_5-sha256", 1))
				return r
			},
			key:  &rsaKey.PublicKey,
			want: ErrInvalidSignature,
		},
		{
			name:    "ed25519 alg with an RSA key",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			key:     &rsaKey.PublicKey,
			want:    ErrInvalidSignature,
		},
		{
			name:    "RSA alg with an Ed25519 key",
			request: func(t *testing.T) *http.Request { return post9421(t, rsaSigner("rsa-v1_5-sha256")) },
			key:     edKey.Public(),
			want:    ErrInvalidSignature,
		},
		{
			name: "Ed25519 signature without alg, RSA key",
			request: func(t *testing.T) *http.Request {
				s := edSigner()
				s.omitAlg = true
				return post9421(t, s)
			},
			key:  &rsaKey.PublicKey,
			want: ErrInvalidSignature,
		},
		{
			name:    "ECDSA key",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			key:     &ecKey.PublicKey,
			want:    ErrUnsupportedAlgorithm,
		},
		{
			name:    "nil RSA key",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			key:     (*rsa.PublicKey)(nil),
			want:    ErrUnsupportedAlgorithm,
		},
		{
			name:    "truncated Ed25519 key",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			key:     edKey.Public().(ed25519.PublicKey)[:16],
			want:    ErrUnsupportedAlgorithm,
		},
		{
			name: "tampered path",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				r.URL.Path = "/users/bob/inbox"
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name: "tampered query",
			request: func(t *testing.T) *http.Request {
				r := get9421(t, edSigner("@method", "@authority", "@path", "@query"))
				r.URL.RawQuery = "page=false"
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name: "other host",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				r.Host = "hearth.example"
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name: "signed for http, received over TLS",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.URL.Scheme = "http"
				r.Header.Set("Content-Digest", sha256Digest(activity))
				edSigner(postComponents...).sign(t, r)
				r.TLS = &tls.ConnectionState{}
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name: "parameters reordered after signing",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				input := r.Header.Get("Signature-Input")
				created := input[strings.Index(input, ";created="):strings.Index(input, ";keyid")]
				r.Header.Set("Signature-Input", strings.Replace(input, created, "", 1)+created)
				return r
			},
			want: ErrInvalidSignature,
		},
		{
			name:    "stale created",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			now:     signedAt.Add(MaxAge + time.Minute),
			want:    ErrExpired,
		},
		{
			name:    "created in the future",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner()) },
			now:     signedAt.Add(-Skew - time.Minute),
			want:    ErrDateInFuture,
		},
		{
			name: "past expires",
			request: func(t *testing.T) *http.Request {
				s := edSigner()
				s.expires = signedAt.Add(10 * time.Second)
				return post9421(t, s)
			},
			now:  signedAt.Add(10*time.Second + Skew + time.Minute),
			want: ErrExpired,
		},
		{
			name: "expires beyond MaxValidity",
			request: func(t *testing.T) *http.Request {
				s := edSigner()
				s.expires = signedAt.Add(48 * time.Hour)
				return post9421(t, s)
			},
			now:  signedAt.Add(MaxValidity + Skew + time.Minute),
			want: ErrExpired,
		},
		{
			name: "no created",
			request: func(t *testing.T) *http.Request {
				s := edSigner()
				s.noCreated = true
				return post9421(t, s)
			},
			want: ErrNotCovered,
		},
		{
			name:    "@method not covered",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner("@target-uri", "content-digest")) },
			want:    ErrNotCovered,
		},
		{
			name: "target not covered",
			request: func(t *testing.T) *http.Request {
				return post9421(t, edSigner("@method", "@authority", "content-digest"))
			},
			want: ErrNotCovered,
		},
		{
			name:    "@path without @authority",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner("@method", "@path", "content-digest")) },
			want:    ErrNotCovered,
		},
		{
			name:    "@path without the query",
			request: func(t *testing.T) *http.Request { return get9421(t, edSigner("@method", "@authority", "@path")) },
			want:    ErrNotCovered,
		},
		{
			name:    "POST without content-digest covered",
			request: func(t *testing.T) *http.Request { return post9421(t, edSigner(getComponents...)) },
			want:    ErrNotCovered,
		},
		{
			name: "covered Content-Digest absent",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				r.Header.Del("Content-Digest")
				return r
			},
			want: ErrMissingHeader,
		},
		{
			name: "Content-Digest of unknown algorithms only",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Content-Digest", "md5=:AAAA:, sha=:AAAA:")
				edSigner(postComponents...).sign(t, r)
				return r
			},
			want: ErrDigestAlgorithm,
		},
		{
			name: "Content-Digest not a dictionary",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Content-Digest", "SHA-256="+digestOf(activity))
				edSigner(postComponents...).sign(t, r)
				return r
			},
			want: ErrDigestMismatch,
		},
		{
			name: "sha-256 Content-Digest as a string",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Content-Digest", `sha-256="`+digestOf(activity)+`"`)
				edSigner(postComponents...).sign(t, r)
				return r
			},
			want: ErrDigestMismatch,
		},
		{
			name: "older Digest covered but wrong",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Digest", "SHA-256="+digestOf([]byte("other")))
				edSigner("@method", "@target-uri", "digest").sign(t, r)
				return r
			},
			want: ErrDigestMismatch,
		},
		{
			name: "covered header absent",
			request: func(t *testing.T) *http.Request {
				r := newPost(t, activity)
				r.Header.Set("Content-Digest", sha256Digest(activity))
				r.Header.Set("Date", signedAt.UTC().Format(http.TimeFormat))
				edSigner(append(postComponents, "date")...).sign(t, r)
				r.Header.Del("Date")
				return r
			},
			want: ErrMissingHeader,
		},
		{
			name: "line break in a covered header",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner(append(postComponents, "x-note")...))
				r.Header["X-Note"] = []string{"a\n\"@method\": GET"}
				return r
			},
			want: ErrMalformed,
		},
		{
			name:    "only an unsupported algorithm",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams+`;alg="hmac-sha256"`, "sig1=:AAAA:"),
			want:    ErrUnsupportedAlgorithm,
		},
		{
			name:    "alg as a token",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams+`;alg=ed25519`, "sig1=:AAAA:"),
			want:    ErrUnsupportedAlgorithm,
		},
		{
			name:    "no keyid",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest");created=1750000000`, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "keyid as a token",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest");created=1750000000;keyid=k`, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name: "Signature-Input without Signature",
			request: func(t *testing.T) *http.Request {
				r := post9421(t, edSigner())
				r.Header.Del("Signature")
				return r
			},
			want: ErrNoSignature,
		},
		{
			name:    "Signature lacks the label",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams, "sig2=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "Signature value is a string",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams, `sig1="AAAA"`),
			want:    ErrMalformed,
		},
		{
			name:    "Signature value is empty",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams, `sig1=::`),
			want:    ErrMalformed,
		},
		{
			name:    "Signature in draft-cavage form",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams, `keyId="k",signature="AAAA"`),
			want:    ErrMalformed,
		},
		{
			name:    "Signature-Input member is not an inner list",
			request: withInput(`sig1="@method";keyid="k"`, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "component with parameters",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest";sf)`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "component as a token",
			request: withInput(`sig1=("@method" "@target-uri" date)`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "component covered twice",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest" "@method")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "@query-param",
			request: withInput(`sig1=("@method" "@target-uri" "@query-param")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "@status in a request",
			request: withInput(`sig1=("@method" "@target-uri" "@status")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "@signature-params covered",
			request: withInput(`sig1=("@method" "@target-uri" "@signature-params")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "upper-case field name",
			request: withInput(`sig1=("@method" "@target-uri" "Content-Digest")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "field name with a space",
			request: withInput(`sig1=("@method" "@target-uri" "content digest")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "label repeated",
			request: withInput(`sig1=("@method")`+goodParams+`, sig1=("@method")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "created as a string",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest");created="1750000000";keyid="k"`, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "negative expires",
			request: withInput(`sig1=("@method" "@target-uri" "content-digest")`+goodParams+`;expires=-1`, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "unterminated inner list",
			request: withInput(`sig1=("@method" "@target-uri"`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "empty Signature-Input",
			request: withInput(``, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
		{
			name:    "Signature-Input too long",
			request: withInput(`sig1=("@method" "`+strings.Repeat("x", maxFieldLength)+`")`+goodParams, "sig1=:AAAA:"),
			want:    ErrMalformed,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			r := test.request(t)
			body, key, now := test.body, test.key, test.now
			if body == nil {
				body = activity
			}
			if key == nil {
				key = edKey.Public()
			}
			if now.IsZero() {
				now = signedAt
			}
			err := Verify(r, body, key, now)
			if !errors.Is(err, test.want) {
				t.Fatalf("Verify = %v, want %v", err, test.want)
			}
			var sigErr *Error
			if !errors.As(err, &sigErr) {
				t.Errorf("Verify returned %T, want *Error", err)
			}
		})
	}
}

// Precheck must refuse, with no key at hand, what Verify refuses for want of
// coverage, digest or freshness.
func TestMessageSignaturePrecheck(t *testing.T) {
	r := post9421(t, edSigner())
	if err := Precheck(r, activity, signedAt); err != nil {
		t.Errorf("fresh request: %v", err)
	}
	if err := Precheck(r, []byte(`{"type":"Undo"}`), signedAt); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered body: got %v, want %v", err, ErrDigestMismatch)
	}
	if err := Precheck(r, activity, signedAt.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("stale: got %v, want %v", err, ErrExpired)
	}
	uncovered := post9421(t, edSigner(getComponents...))
	if err := Precheck(uncovered, activity, signedAt); !errors.Is(err, ErrNotCovered) {
		t.Errorf("content-digest not covered: got %v, want %v", err, ErrNotCovered)
	}
}

func TestMessageSignatureKeyID(t *testing.T) {
	tests := []struct {
		input string
		want  string
		err   error
	}{
		{`sig1=("@method");keyid="https://a.example/u#k"`, "https://a.example/u#k", nil},
		{`sig1=("@method");keyid="https://a.example/u#k";alg="ed25519"`, "https://a.example/u#k", nil},
		{`a=("@method");keyid="x";alg="hmac-sha256", b=("@method");keyid="y"`, "y", nil},
		{`a=("@method"), b=("@method");keyid="y";alg="rsa-pss-sha512"`, "y", nil},
		{`a=("@method");keyid="x", b=("@method");keyid="y"`, "x", nil},
		{`sig1=("@method");keyid="q\"uote"`, `q"uote`, nil},
		{`sig1=("@method");keyid=""`, "", ErrMalformed},
		{`sig1=("@method");alg="ed25519"`, "", ErrMalformed},
		{`sig1=("@method");keyid="k";alg="hs2019"`, "", ErrUnsupportedAlgorithm},
		{`sig1=("@method");keyid="k";keyid="j"`, "", ErrMalformed},
		{`sig1=("@method");keyid="k",`, "", ErrMalformed},
	}
	for _, test := range tests {
		r := newPost(t, nil)
		r.Header.Set("Signature-Input", test.input)
		r.Header.Set("Signature", "sig1=:AAAA:, a=:AAAA:, b=:AAAA:")
		got, err := KeyID(r)
		if got != test.want || !errors.Is(err, test.err) || (test.err == nil) != (err == nil) {
			t.Errorf("KeyID(%s) = %q, %v; want %q, %v", test.input, got, err, test.want, test.err)
		}
	}
}

// A signature made by a real sender, over plain HTTP, read back by a server.
func TestMessageSignatureOverHTTP(t *testing.T) {
	srv := verifyingServer(t, edKey.Public())
	for _, components := range [][]string{postComponents, {"@method", "@scheme", "@authority", "@path", "content-digest"}} {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/g/grief/inbox", bytes.NewReader(activity))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Digest", sha512Digest(activity))
		s := edSigner(components...)
		s.created = time.Now()
		s.sign(t, r)
		if status, reason := send(t, r); status != http.StatusAccepted {
			t.Errorf("POST signed over %v: got %d %q, want 202", components, status, reason)
		}
	}
}

// RFC 9421, Appendix B.2.6: the test request signed with test-key-ed25519
// (Appendix B.1.4). Ed25519 is deterministic, so the published signature
// value must verify, and the signature base must match byte for byte.
func TestRFC9421Ed25519Example(t *testing.T) {
	const publicKeyPEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n"
	block, _ := pem.Decode([]byte(publicKeyPEM))
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"hello": "world"}`)
	r, err := http.NewRequest(http.MethodPost, "https://example.com/foo?param=Value&Pet=dog", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	r.Header.Set("Content-Length", "18")
	r.Header.Set("Signature-Input", `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`)
	r.Header.Set("Signature", "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")

	m, err := parseMessageSignature(r)
	if err != nil {
		t.Fatal(err)
	}
	base, err := m.base(r, "https")
	if err != nil {
		t.Fatal(err)
	}
	want := `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	if base != want {
		t.Errorf("signature base:\n%s\nwant:\n%s", base, want)
	}
	if err := m.verifyWith(r, key); err != nil {
		t.Errorf("the RFC's signature does not verify: %v", err)
	}
	if err := checkContentDigest(r.Header, body); err != nil {
		t.Errorf("the RFC's Content-Digest does not match its body: %v", err)
	}
	// The example covers neither the body's digest nor the query, so Hearth
	// refuses it all the same.
	if err := Verify(r, body, key, time.Unix(1618884473, 0)); !errors.Is(err, ErrNotCovered) {
		t.Errorf("Verify = %v, want %v", err, ErrNotCovered)
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
	if err := m.verifyWith(r, key); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("with another Date: %v, want %v", err, ErrInvalidSignature)
	}
}
