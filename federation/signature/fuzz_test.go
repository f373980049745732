package signature

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
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
