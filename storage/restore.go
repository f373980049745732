package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrServing is returned when a server is running on the database.
var ErrServing = errors.New("a server is running on this database; stop it first")

// Restore replaces the database at path with a copy of the backup at from,
// which must be a sound Hearth database written by this or an older
// version (its pending migrations run at the next start). It refuses while
// a server uses path, and holds that off until it is done. The database it
// replaces is kept beside it, renamed with the time of the restore, and
// Restore returns that name ("" when there was none).
func Restore(ctx context.Context, from, path string, now time.Time) (kept string, err error) {
	release, err := LockServing(path)
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, release()) }()
	h, err := Inspect(ctx, from)
	switch {
	case err != nil:
		return "", err
	case !h.Hearth:
		return "", fmt.Errorf("%s is not a Hearth database", from)
	case len(h.Problems) > 0:
		return "", fmt.Errorf("%s fails SQLite's integrity check: %s", from, strings.Join(h.Problems, "; "))
	case len(h.Unknown) > 0:
		return "", fmt.Errorf("%s was written by a newer Hearth (migrations %s); restore it with that version", from, strings.Join(h.Unknown, ", "))
	}
	copied, err := copyBeside(from, path)
	if err != nil {
		return "", err
	}
	defer os.Remove(copied)
	if _, err := os.Stat(path); err == nil {
		kept = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		// The write-ahead log and its index belong to the file they were
		// written for: they go with it, or SQLite would replay them into
		// the restored one.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, kept+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("restore: keeping the current database: %w", err)
			}
		}
	}
	if err := os.Rename(copied, path); err != nil {
		return kept, fmt.Errorf("restore: %w", err)
	}
	return kept, nil
}

// copyBeside copies the file at from into the directory of path, synced
// to disk, so that it can be renamed into place in one step.
func copyBeside(from, path string) (string, error) {
	src, err := os.Open(from)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	dst, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".restoring-*")
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if closeErr := dst.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", fmt.Errorf("restore: %w", err)
	}
	return dst.Name(), nil
}
