package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupCopiesTheDatabaseWhileServing(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, sqliteConfig(t))
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "grief")
	file := filepath.Join(t.TempDir(), "backup.db")
	if out := mustHearth(t, getenv, "backup", file); !strings.Contains(out, "Backed up the database to "+file) {
		t.Errorf("backup said %q", out)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup file mode %o, want 600: it holds private keys", perm)
	}
	restored := env(m, "HEARTH_STORAGE_PATH="+file)
	if out := mustHearth(t, restored, "group", "list"); !strings.Contains(out, "grief") {
		t.Errorf("the backup lacks the group:\n%s", out)
	}
	if code, _, stderr := hearth(t, getenv, "backup", file); code != 1 || !strings.Contains(stderr, "exists already") {
		t.Errorf("backup over an existing file: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := hearth(t, getenv, "backup"); code != 2 || !strings.Contains(stderr, "want one FILE") {
		t.Errorf("backup without a file: exit %d, stderr %q", code, stderr)
	}
}
