package activitypub

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
