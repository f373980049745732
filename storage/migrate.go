package storage

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
)

// migrations holds each database's own list: migrations/sqlite and
// migrations/postgres. A change to the schema is a new file in both.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrations is the directory of the dialect's migrations in the embedded
// files, with its trailing slash.
func (d *dialect) migrations() string {
	if d.postgres {
		return "migrations/postgres/"
	}
	return "migrations/sqlite/"
}

// migrate applies to a SQLite database, in file-name order, every embedded migration not yet
// recorded. Each runs in its own transaction together with its record, so a
// failed migration leaves the schema as it was. Migrations only go forward.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := migrationNames(sqliteDialect)
	if err != nil {
		return err
	}
	for _, name := range names {
		script, err := migrations.ReadFile(sqliteDialect.migrations() + name)
		if err != nil {
			return err
		}
		err = s.Update(ctx, func(tx *Tx) error {
			var applied int
			if err := tx.queryRow(`SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&applied); err != nil {
				return err
			}
			if applied > 0 {
				return nil
			}
			// A script holds several statements and runs once: it is not
			// kept prepared.
			if _, err := tx.tx.ExecContext(tx.ctx, string(script)); err != nil {
				return err
			}
			_, err := tx.exec(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, millis(tx.now))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// Migrations lists the migrations applied to this database, oldest first.
func (s *Store) Migrations(ctx context.Context) ([]string, error) {
	var names []string
	err := s.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(`SELECT name FROM schema_migrations ORDER BY name`)
		if err != nil {
			return err
		}
		names, err = scanAll(rows, func(r *sql.Rows) (string, error) {
			var n string
			return n, r.Scan(&n)
		})
		return err
	})
	return names, err
}
