package activitypub

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"type":["Note","Other"],"to":"https://a.example/u","tag":{"type":"Mention"}}`))
	f.Add([]byte(`{"type":"Flag","object":[{"id":"https://a.example/u"},"https://a.example/n"]}`))
	f.Add([]byte(`{"type":"Note","published":"2024-03-09T18:22:41.5-0500","contentMap":{"en":"x"}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if o.Type == "" {
			t.Fatal("Decode succeeded without a type")
		}
		if o.ID != "" {
			if _, err := Host(o.ID); err != nil {
				t.Fatalf("Decode accepted id %q: %v", o.ID, err)
			}
		}
		for ref := o.Object; ref != nil && ref.Embedded != nil; ref = ref.Embedded.Object {
			if ref.Embedded.Type == "" {
				t.Fatal("embedded object without a type")
			}
		}
		o.IsPublic()
	})
}

func FuzzLocalUsername(f *testing.F) {
	base, err := url.Parse("https://hearth.example:8443")
	if err != nil {
		f.Fatal(err)
	}
	iris := NewIRIs(base)
	for _, seed := range []string{
		"acct:grief@hearth.example:8443", "grief@hearth.example:8443", "@grief@HEARTH.example:8443",
		"acct:hearth.example:8443@hearth.example:8443", "https://hearth.example:8443/g/grief",
		"https://hearth.example:8443/actor", "HTTPS://Hearth.Example:8443/g/a%2Fb", "acct:a@b@hearth.example:8443",
		"acct:grief@elsewhere.example", "https://hearth.example:8443/g/grief/outbox", "acct:", "", " ",
		"acct:gr\u202eief@hearth.example:8443", "https://hearth.example:8443/g/%20x", "mailto:grief@hearth.example:8443",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		name, err := LocalUsername(iris, resource)
		if err != nil {
			if !errors.Is(err, ErrMalformedResource) && !errors.Is(err, ErrForeignResource) {
				t.Fatalf("LocalUsername(%q): error %v is neither malformed nor foreign", resource, err)
			}
			return
		}
		if name == iris.Host() {
			return
		}
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return IsControlOrBidi(r) || unicode.IsSpace(r) || strings.ContainsRune("/?#@:", r)
		}) {
			t.Fatalf("LocalUsername(%q) = %q, which is neither a group name nor the host", resource, name)
		}
	})
}
