package storage

import (
	"database/sql"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row with the same unique key exists already.
	ErrConflict = errors.New("already exists")
)

// translate turns driver errors into the package's errors, so callers never
// need to know which SQLite driver is underneath. Conflicts are told by
// SQLite's extended result code, which, unlike the message, is a contract.
func translate(err error) error {
	var driverErr *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case errors.As(err, &driverErr) && isConflict(driverErr.Code()):
		return errors.Join(ErrConflict, err)
	}
	return err
}

func isConflict(code int) bool {
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
