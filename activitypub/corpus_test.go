package activitypub

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir finds the directory of payloads captured from other servers,
// kept beside the repository rather than in it.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(corpus); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no corpus at %s", corpus)
	}
	return corpus
}

func TestDecodeCorpus(t *testing.T) {
	corpus := corpusDir(t)
	var files []string
	err := filepath.WalkDir(corpus, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".json" {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no JSON files under %s", corpus)
	}
	for _, file := range files {
		name, _ := filepath.Rel(corpus, file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			o, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var generic map[string]any
			if err := json.Unmarshal(data, &generic); err != nil {
				t.Fatal(err)
			}
			checkAgainstGeneric(t, "", o, generic)
		})
	}
	t.Logf("decoded %d corpus documents", len(files))
}

// checkAgainstGeneric compares what Decode found with a plain JSON reading
// of the same document, down through embedded objects.
func checkAgainstGeneric(t *testing.T, path string, o *Object, generic map[string]any) {
	t.Helper()
	if o.Type == "" {
		t.Errorf("%s: no type", path)
	}
	if id, ok := generic["id"].(string); ok && o.ID != id {
		t.Errorf("%sid = %q, want %q", path, o.ID, id)
	}
	if actor, ok := generic["actor"]; ok && actor != nil && o.Actor == "" {
		t.Errorf("%s%s has actor %v but Actor is empty", path, o.Type, actor)
	}
	if attributed, ok := generic["attributedTo"]; ok && attributed != nil && o.AttributedTo == "" {
		t.Errorf("%s%s has attributedTo %v but AttributedTo is empty", path, o.Type, attributed)
	}
	object, ok := generic["object"]
	if !ok || object == nil {
		return
	}
	if o.Object == nil || o.Object.ID == "" {
		t.Errorf("%s%s has object %.80v but no object id", path, o.Type, object)
		return
	}
	if embedded, ok := object.(map[string]any); ok && o.Object.Embedded != nil {
		checkAgainstGeneric(t, path+"object.", o.Object.Embedded, embedded)
	}
}
