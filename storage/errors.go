package storage

import (
	"database/sql"
	"errors"
	"strings"
)

var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row with the same unique key exists already.
	ErrConflict = errors.New("already exists")
)

// translate turns driver errors into the package's errors, so callers never
// need to know which SQLite driver is underneath.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case strings.Contains(err.Error(), "UNIQUE constraint failed"),
		strings.Contains(err.Error(), "PRIMARY KEY constraint failed"):
		return errors.Join(ErrConflict, err)
	}
	return err
}
