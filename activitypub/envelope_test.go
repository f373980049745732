package activitypub

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadEnvelopeReadsWhatDecodeReads(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	documents := map[string][]byte{
		"actor as an object, type as an array": []byte(`{"id": "https://a.example/1", "type": ["as:Like", "Other"],
			"actor": {"type": "Person", "id": "https://a.example/u"}, "object": ["https://b.example/n", "https://b.example/m"]}`),
		"embedded object without an id": []byte(`{"id": "https://a.example/1", "type": "Create", "actor": ["https://a.example/u"],
			"object": {"type": "Note", "content": "hi"}}`),
		"no id": []byte(`{"type": "Delete", "actor": "https://a.example/u", "object": "https://a.example/u"}`),
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		documents[filepath.Base(file)] = data
	}
	for name, data := range documents {
		o, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := Envelope{ID: o.ID, Type: o.Type, Actor: o.Actor, ObjectID: o.ObjectID()}
		if got, err := ReadEnvelope(data); err != nil || got != want {
			t.Errorf("%s: ReadEnvelope = %+v, %v; Decode read %+v", name, got, err, want)
		}
	}
}

func TestReadEnvelopeRefusesWhatIsNotJSON(t *testing.T) {
	for _, data := range []string{`{"type": "Follow",`, `["Follow"]`, `"Follow"`, ``} {
		if _, err := ReadEnvelope([]byte(data)); err == nil {
			t.Errorf("ReadEnvelope(%q) took it", data)
		}
	}
}
