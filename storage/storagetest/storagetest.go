// Package storagetest gives each test a database of its own: a SQLite
// file in the test's temporary directory, or, when HEARTH_TEST_POSTGRES
// names a PostgreSQL server, a schema of its own there. Tests written with
// it run unchanged on both.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresVariable names the environment variable holding the connection
// string of a PostgreSQL server the tests may create schemas on.
const PostgresVariable = "HEARTH_TEST_POSTGRES"

// Postgres returns the PostgreSQL server's connection string, or "" when
// the tests run on SQLite.
func Postgres() string { return os.Getenv(PostgresVariable) }

// Location returns where a test's store lives (for storage.Open), empty
// until the store opens it. A PostgreSQL schema is dropped when the test
// ends, after the cleanups registered later (closing the store) have run.
func Location(t testing.TB) string {
	t.Helper()
	server := Postgres()
	if server == "" {
		return filepath.Join(t.TempDir(), "hearth.db")
	}
	schema := "test_" + strings.ToLower(rand.Text())
	db, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("%s: %v", PostgresVariable, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("%s: %v", PostgresVariable, err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping the test's schema: %v", err)
		}
	})
	return WithSchema(server, schema)
}

// WithSchema returns the connection string dsn, in URL or keyword form,
// with its search path set to schema.
func WithSchema(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}
