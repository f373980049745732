package signature

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzKeyID(f *testing.F) {
	for _, seed := range []string{
		`keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`,
		`keyId="https://a.example/u#k", algorithm="hs2019", created=1700000000, expires=1700000300, headers="(request-target) (created) host", signature="c2ln"`,
		`signature=c2ln==,keyId=k`,
		`keyId="a",keyId="b",signature="c"`,
		`sig1=:c2lnbmF0dXJl:`,
		`keyId="k,signature="s"`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r, err := http.NewRequest(http.MethodPost, "https://hearth.example/inbox", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header["Signature"] = []string{header}
		keyID, err := KeyID(r)
		if err != nil {
			if keyID != "" {
				t.Errorf("KeyID(%q) returned %q along with error %v", header, keyID, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoSignature) {
				t.Errorf("KeyID(%q) error %v is neither malformed nor unsigned", header, err)
			}
			return
		}
		if keyID == "" || strings.ContainsAny(keyID, "\",") || !strings.Contains(header, keyID) {
			t.Errorf("KeyID(%q) = %q, not a keyId taken from the header", header, keyID)
		}

		// What go-fed is shown must read back as exactly what was checked.
		p, err := parseCavage(header)
		if err != nil {
			t.Fatalf("KeyID accepted %q but parseCavage refused it: %v", header, err)
		}
		again, err := parseCavage(p.canonical())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", p.canonical(), header, err)
		}
		if again.keyID != p.keyID || again.signature != p.signature || again.created != p.created ||
			again.expires != p.expires || again.algorithm != p.algorithm || !slices.Equal(again.headers, p.headers) {
			t.Errorf("canonical form %q of %q reads back as %+v, want %+v", p.canonical(), header, again, p)
		}
	})
}

func FuzzSignatureInput(f *testing.F) {
	for _, seed := range [][2]string{
		{`sig1=("@method" "@target-uri" "content-digest");created=1750000000;keyid="https://a.example/u#k";alg="ed25519"`, `sig1=:c2lnbmF0dXJl:`},
		{` a=( "@method"  "@path" );keyid="x";alg="hmac-sha256",	b=("@authority" "@query" "@request-target" "@scheme");created=1;expires=2;keyid="y"`, `a=:AAAA:, b=:c2ln:`},
		{`sig1=("date" "@method";req "x";key="y");created=1.5;keyid=tok;nonce=:AA==:;tag=?1`, `sig1=:c2ln:`},
		{`sig1=("host" "content-digest" "digest");created=-999999999999999;keyid="";alg="rsa-pss-sha512", sig2=("@method");keyid="k"`, `sig2=:c2ln`},
		{`sig1=("@method");keyid="q\"u\\o";alg="rsa-v1_5-sha256"`, `sig1=::, *x=?0;p=-1.250`},
		{`sig1=(`, `sig1=:c2ln:`},
		{``, ``},
	} {
		f.Add(seed[0], seed[1])
	}
	body := []byte(`{"type":"Follow"}`)
	now := time.Unix(1_750_000_000, 0)
	f.Fuzz(func(t *testing.T, input, value string) {
		r, err := http.NewRequest(http.MethodPost, "https://hearth.example/inbox?page=1", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Digest", sha256Digest(body))
		r.Header["Signature-Input"] = []string{input}
		r.Header["Signature"] = []string{value}
		keyID, err := KeyID(r)
		if err != nil {
			if keyID != "" {
				t.Errorf("KeyID returned %q along with error %v", keyID, err)
			}
			var sigErr *Error
			if !errors.As(err, &sigErr) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupportedAlgorithm)) {
				t.Errorf("KeyID error %v is neither malformed nor an unsupported algorithm", err)
			}
			return
		}
		if keyID == "" {
			t.Fatal("KeyID accepted an empty keyid")
		}

		// What is signed as @signature-params must be canonical: it reads
		// back as itself.
		m, err := parseMessageSignature(r)
		if err != nil {
			t.Fatalf("KeyID accepted the headers but parseMessageSignature refused them: %v", err)
		}
		members, err := parseDictionary("l=" + m.params)
		if err != nil || len(members) != 1 {
			t.Fatalf("@signature-params %q does not read back: %v", m.params, err)
		}
		items, ok := members[0].value.([]item)
		if !ok || serializeInnerList(items, members[0].params) != m.params {
			t.Errorf("@signature-params %q reads back differently", m.params)
		}

		// Whatever the headers say, no check may panic, and no made-up
		// signature may verify.
		_ = Precheck(r, body, now)
		if err := Verify(r, body, edKey.Public(), now); err == nil {
			t.Errorf("Verify accepted Signature-Input %q, Signature %q", input, value)
		}
	})
}
