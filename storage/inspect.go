package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Health is what Inspect finds in a database file.
type Health struct {
	// Problems lists what SQLite's integrity check reports; empty when the
	// file is sound.
	Problems []string
	// Pending lists the migrations this build has and the file has not run.
	Pending []string
	// Unknown lists the migrations the file ran that this build does not
	// know: a newer Hearth wrote it.
	Unknown []string
	// Hearth says whether the file is a Hearth database at all.
	Hearth bool
	// InstanceKey is the public key of the instance actor, when it has one:
	// the server at the instance's base URL must publish the same.
	InstanceKey string
}

// Sound reports whether the file is a Hearth database that passes SQLite's
// integrity check.
func (h Health) Sound() bool { return h.Hearth && len(h.Problems) == 0 }

// ErrNoDatabase is returned by Inspect for a path where no file is.
var ErrNoDatabase = errors.New("no database file there")

// Inspect opens the database at location (see Open) read-only and reports
// its health, changing nothing: unlike Open, it applies no migration, so it
// can tell whether one is pending.
func Inspect(ctx context.Context, location string) (Health, error) {
	loc := ParseLocation(location)
	if loc.Postgres {
		db, err := sql.Open("pgx", loc.Name)
		if err != nil {
			return Health{}, fmt.Errorf("%s: %w", loc, err)
		}
		defer db.Close()
		return inspectSchema(ctx, db, postgresDialect, loc, Health{})
	}
	path := loc.Name
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return Health{}, fmt.Errorf("%s: %w", path, ErrNoDatabase)
	}
	// Only a busy timeout: the pragmas Open sets would write (a backup is
	// not in WAL mode until a server opens it).
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)"}}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return Health{}, err
	}
	defer db.Close()
	var h Health
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return Health{}, fmt.Errorf("%s: %w", path, err)
	}
	problems, err := scanAll(rows, func(r *sql.Rows) (string, error) {
		var line string
		return line, r.Scan(&line)
	})
	if err != nil {
		return Health{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		h.Problems = problems
	}
	return inspectSchema(ctx, db, sqliteDialect, loc, h)
}

// inspectSchema adds to h whether db holds Hearth's tables, its instance
// key, and how its migrations compare with this build's.
func inspectSchema(ctx context.Context, db *sql.DB, d *dialect, loc Location, h Health) (Health, error) {
	tablesQuery := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'instance_key')`
	if d.postgres {
		tablesQuery = `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name IN ('schema_migrations', 'instance_key')`
	}
	var tables int
	if err := db.QueryRowContext(ctx, tablesQuery).Scan(&tables); err != nil {
		return Health{}, fmt.Errorf("%s: %w", loc, err)
	}
	if h.Hearth = tables == 2; !h.Hearth {
		return h, nil
	}
	err := db.QueryRowContext(ctx, `SELECT public_key_pem FROM instance_key`).Scan(&h.InstanceKey)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Health{}, fmt.Errorf("%s: %w", loc, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return Health{}, fmt.Errorf("%s: %w", loc, err)
	}
	applied, err := scanAll(rows, func(r *sql.Rows) (string, error) {
		var name string
		return name, r.Scan(&name)
	})
	if err != nil {
		return Health{}, fmt.Errorf("%s: %w", loc, err)
	}
	known, err := migrationNames(d)
	if err != nil {
		return Health{}, err
	}
	for _, name := range known {
		if !slices.Contains(applied, name) {
			h.Pending = append(h.Pending, name)
		}
	}
	for _, name := range applied {
		if !slices.Contains(known, name) {
			h.Unknown = append(h.Unknown, name)
		}
	}
	return h, nil
}

// migrationNames lists the dialect's embedded migrations in the order they
// run.
func migrationNames(d *dialect) ([]string, error) {
	paths, err := fs.Glob(migrations, d.migrations()+"*.sql")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, path := range paths {
		names[i] = strings.TrimPrefix(path, d.migrations())
	}
	slices.Sort(names)
	return names, nil
}

// DatabaseSize is how many bytes the database's pages take, free pages
// included: what the file holds once checkpointed. On PostgreSQL it is the
// size of the whole database, whatever else it holds.
func (tx *Tx) DatabaseSize() (int64, error) {
	if tx.dialect.postgres {
		var size int64
		err := tx.queryRow(`SELECT pg_database_size(current_database())`).Scan(&size)
		return size, translate(err)
	}
	var pages, pageSize int64
	if err := tx.queryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		return 0, err
	}
	if err := tx.queryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		return 0, err
	}
	return pages * pageSize, nil
}
