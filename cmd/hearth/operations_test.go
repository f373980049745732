package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

func TestCheckSaysWhatIsWrongInItsExitStatus(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, sqliteConfig(t))
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "grief")
	out := mustHearth(t, getenv, "check")
	for _, want := range []string{"ok    configuration", "ok    database", "ok    migrations: current", "ok    base URL: " + m.Config.Server.BaseURL + " serves this instance's actor"} {
		if !strings.Contains(out, want) {
			t.Errorf("check on a healthy instance lacks %q:\n%s", want, out)
		}
	}

	other := MustRunMain(t, sqliteConfig(t))
	behind := copyDatabase(t, m, func(db *sql.DB) error {
		_, err := db.Exec(`DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)`)
		return err
	})
	ahead := copyDatabase(t, m, func(db *sql.DB) error {
		_, err := db.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future.sql', 0)`)
		return err
	})
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(behind)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		getenv   func(string) string
		wantCode int
		want     string
	}{
		{"base URL unreachable", env(m, "HEARTH_SERVER_BASE_URL=http://127.0.0.1:1"), 0, "warn  base URL: could not reach http://127.0.0.1:1"},
		{"no database yet", env(m, "HEARTH_STORAGE_PATH="+filepath.Join(t.TempDir(), "new.db")), 0, "warn  database"},
		{"not a database", env(m, "HEARTH_STORAGE_PATH="+garbage), checkDatabaseFailed, "FAIL  database"},
		{"a migration to apply", env(m, "HEARTH_STORAGE_PATH="+behind, "HEARTH_SERVER_BASE_URL=http://127.0.0.1:1"), checkMigrationsBehind, "1 to apply"},
		{"written by a newer Hearth", env(m, "HEARTH_STORAGE_PATH="+ahead), checkMigrationsBehind, "9999_from_the_future.sql"},
		{"invalid configuration", env(m, "HEARTH_LOG_LEVEL=loud"), checkConfigInvalid, "FAIL  configuration"},
		{"another instance at the base URL", env(m, "HEARTH_SERVER_BASE_URL="+other.Config.Server.BaseURL), checkWrongInstance, "serves another instance's actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := hearth(t, tt.getenv, "check")
			if code != tt.wantCode || !strings.Contains(stdout, tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.wantCode, tt.want, stdout, stderr)
			}
		})
	}
	if after, err := os.ReadFile(behind); err != nil || !bytes.Equal(after, before) {
		t.Errorf("check changed the database it inspected (%v)", err)
	}
}

// copyDatabase backs up m's database and changes the copy with change.
func copyDatabase(t *testing.T, m *Main, change func(*sql.DB) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := m.Store.Backup(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := change(db); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestABackupTakenDuringWritesRestoresWhole backs up a serving instance
// while groups are being created, restores the copy once the server has
// stopped (not before), and finds every group that existed when the backup
// began, in a database that passes the check.
func TestABackupTakenDuringWritesRestoresWhole(t *testing.T) {
	t.Parallel()
	cfg := sqliteConfig(t)
	m := MustRunMain(t, cfg)
	getenv := env(m)
	ctx := context.Background()
	for i := range 20 {
		g := &storage.Group{Name: fmt.Sprintf("before_%d", i)}
		if err := m.Service.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	var writers sync.WaitGroup
	stop := make(chan struct{})
	writers.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := m.Service.CreateGroup(ctx, &storage.Group{Name: fmt.Sprintf("during_%d", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	mustHearth(t, getenv, "backup", backup)
	close(stop)
	writers.Wait()

	if code, _, stderr := hearth(t, getenv, "restore", backup); code != 1 || !strings.Contains(stderr, "a server is running on this database") {
		t.Fatalf("restore under a running server: exit %d, %q", code, stderr)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out := mustHearth(t, getenv, "restore", backup)
	if !strings.Contains(out, "Restored "+cfg.Storage.Path) || !strings.Contains(out, ".before-restore-") {
		t.Errorf("restore said %q", out)
	}
	if code, stdout, _ := hearth(t, getenv, "check"); code != 0 || !strings.Contains(stdout, "ok    database") {
		t.Errorf("check after the restore: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := hearth(t, getenv, "restore", filepath.Join(t.TempDir(), "missing.db")); code != 1 || !strings.Contains(stderr, "no database file there") {
		t.Errorf("restore of a missing file: exit %d, %q", code, stderr)
	}
	restored := MustRunMain(t, cfg)
	list := mustHearth(t, env(restored), "group", "list")
	for i := range 20 {
		if name := fmt.Sprintf("before_%d", i); !strings.Contains(list, name) {
			t.Errorf("the restored database lacks %s", name)
		}
	}
}

func TestCheckOnPostgreSQLAndNoSQLiteFile(t *testing.T) {
	t.Parallel()
	if storagetest.Postgres() == "" {
		t.Skip("set " + storagetest.PostgresVariable + " to check a PostgreSQL database")
	}
	m := MustRunMain(t, nil)
	mustHearth(t, env(m), "group", "create", "grief")
	if _, err := os.Stat(m.Config.Storage.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serving on PostgreSQL, %s: %v; want no SQLite file", m.Config.Storage.Path, err)
	}
	out := mustHearth(t, env(m), "check")
	for _, want := range []string{"ok    database: postgres:", "ok    migrations: current"} {
		if !strings.Contains(out, want) {
			t.Errorf("check on a healthy instance lacks %q:\n%s", want, out)
		}
	}
	empty := env(m, "HEARTH_STORAGE_DSN="+storagetest.Location(t))
	if out := mustHearth(t, empty, "check"); !strings.Contains(out, "warn  database") || !strings.Contains(out, "no Hearth tables yet") {
		t.Errorf("check on an empty database:\n%s", out)
	}
	if code, _, stderr := hearth(t, env(m, "HEARTH_STORAGE_DSN=postgres://nobody@127.0.0.1:1/none"), "check"); code != checkDatabaseFailed {
		t.Errorf("check on an unreachable server: exit %d, %s", code, stderr)
	}
}
