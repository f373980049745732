package storage

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, in file-name order, every embedded migration not yet
// recorded. Each runs in its own transaction together with its record, so a
// failed migration leaves the schema as it was. Migrations only go forward.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		script, err := migrations.ReadFile("migrations/" + name)
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
