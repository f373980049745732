package storage

import (
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
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
// need to know which database is underneath. Conflicts are told by SQLite's
// extended result code and PostgreSQL's SQLSTATE, which, unlike messages,
// are contracts.
func translate(err error) error {
	var sqliteErr *sqlite.Error
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case errors.As(err, &sqliteErr) && isConflict(sqliteErr.Code()):
		return errors.Join(ErrConflict, err)
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
		return errors.Join(ErrConflict, err)
	}
	return err
}

func isConflict(code int) bool {
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// inserted translates the error of an INSERT … ON CONFLICT DO NOTHING
// RETURNING: no row returned means the row existed. Asking that way rather
// than letting the insert fail keeps the transaction usable after a
// conflict, which PostgreSQL would otherwise end.
func inserted(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrConflict
	}
	return translate(err)
}
