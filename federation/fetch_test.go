package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// TestADocumentCannotSpeakForAnotherAddress serves, on one server, a file
// that claims to be one of that server's accounts with the attacker's key.
// Hearth must not take the key for the account's.
func TestADocumentCannotSpeakForAnotherAddress(t *testing.T) {
	ctx := context.Background()
	network := fedtest.NewNetwork(t)
	attacker, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	attackerPEM, _ := activitypub.EncodePublicKey(&attacker.PublicKey)
	keeper, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keeperPEM, _ := activitypub.EncodePublicKey(&keeper.PublicKey)
	const keeperID = "http://shared.test/users/keeper"
	person := func(id, keyID, pem string) []byte {
		doc, _ := json.Marshal(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": id, "type": "Person",
			"preferredUsername": "keeper", "inbox": keeperID + "/inbox",
			"publicKey": map[string]string{"id": keyID, "owner": id, "publicKeyPem": pem}})
		return doc
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/users/keeper", func(w http.ResponseWriter, r *http.Request) {
		w.Write(person(keeperID, keeperID+"#main-key", keeperPEM))
	})
	mux.HandleFunc("/files/upload.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write(person(keeperID, "http://shared.test/files/upload.json#main-key", attackerPEM))
	})
	network.Route("shared.test", mux)

	store, err := storage.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	base, _ := url.Parse("http://hearth.test")
	s, err := New(ctx, Config{BaseURL: base, InsecureDev: true, Transport: network.Transport(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.signerKey(ctx, keeperID+"#main-key", false); err != nil {
		t.Fatalf("the real key: %v", err)
	}
	if _, _, err := s.signerKey(ctx, "http://shared.test/files/upload.json#main-key", false); err == nil {
		t.Fatal("a file claiming to be keeper was taken as keeper's key")
	}
	var cached storage.Actor
	store.View(ctx, func(tx *storage.Tx) (err error) {
		cached, err = tx.Actor(keeperID)
		return err
	})
	if cached.KeyID != keeperID+"#main-key" || cached.PublicKeyPEM != keeperPEM {
		t.Errorf("keeper's cached key was replaced: %s", cached.KeyID)
	}
}

func TestRememberForgetsTheOldestFirst(t *testing.T) {
	m := map[string]time.Time{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range memoryLimit {
		remember(m, fmt.Sprint(i), start.Add(time.Duration(i)*time.Millisecond), time.Hour)
	}
	remember(m, "new", start.Add(time.Second), time.Hour)
	if len(m) != memoryLimit {
		t.Fatalf("%d entries, want the limit %d", len(m), memoryLimit)
	}
	if _, ok := m["0"]; ok {
		t.Error("the oldest entry survived")
	}
	if _, ok := m["1"]; !ok {
		t.Error("an entry other than the oldest was dropped")
	}
	remember(m, "late", start.Add(2*time.Hour), time.Hour)
	if len(m) != 1 {
		t.Errorf("%d entries after all the others expired, want 1", len(m))
	}
}
