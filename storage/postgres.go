package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Location is where a store's data lives: a SQLite file or a PostgreSQL
// database.
type Location struct {
	Postgres bool
	// Name is the SQLite file's path, or PostgreSQL's connection string.
	Name string
}

// ParseLocation reads "sqlite:PATH", "postgres://…", "postgresql://…" or
// "postgres:KEYWORDS" (a keyword/value connection string such as
// "host=/run/postgresql dbname=hearth"). Anything else is a SQLite path.
func ParseLocation(location string) Location {
	switch {
	case strings.HasPrefix(location, "postgres://"), strings.HasPrefix(location, "postgresql://"):
		return Location{Postgres: true, Name: location}
	case strings.HasPrefix(location, "postgres:"):
		return Location{Postgres: true, Name: strings.TrimPrefix(location, "postgres:")}
	}
	return Location{Name: strings.TrimPrefix(location, "sqlite:")}
}

func (l Location) String() string {
	if l.Postgres {
		return "postgres:" + redact(l.Name)
	}
	return "sqlite:" + l.Name
}

// redact hides the password of a connection string, for messages.
func redact(dsn string) string {
	if cfg, err := pgconn.ParseConfig(dsn); err == nil && cfg.Password != "" {
		return strings.ReplaceAll(dsn, cfg.Password, "…")
	}
	return dsn
}

// Advisory lock keys, the same in every process sharing a database.
const (
	// writerLock serialises write transactions, as SQLite's one writer does.
	writerLock int64 = 0x4865617274680001
	// claimLock serialises delivery claims, so that the in-flight count a
	// claim reads per host includes every other process's claims.
	claimLock int64 = 0x4865617274680002
	// migrationLock lets one starting process migrate while the others wait.
	migrationLock int64 = 0x4865617274680003
)

// postgresWriters, postgresReaders and postgresQueue size the pools.
// Writers take turns (see Update), so a few connections keep the turn
// passing without one waiting to be opened; queue transactions are short.
const (
	postgresWriters = 6
	postgresReaders = 8
	postgresQueue   = 4
)

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	s.dialect = postgresDialect
	write, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres:%s: %w", redact(dsn), err)
	}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return fmt.Errorf("open postgres:%s: %w", redact(dsn), err)
	}
	write.SetMaxOpenConns(postgresWriters)
	write.SetMaxIdleConns(postgresWriters)
	s.write = write
	if err := s.migratePostgres(ctx); err != nil {
		write.Close()
		return err
	}
	read, err := sql.Open("pgx", dsn)
	if err != nil {
		write.Close()
		return fmt.Errorf("open postgres:%s: %w", redact(dsn), err)
	}
	read.SetMaxOpenConns(postgresReaders)
	read.SetMaxIdleConns(postgresReaders)
	s.read = read
	queue, err := sql.Open("pgx", dsn)
	if err != nil {
		read.Close()
		write.Close()
		return fmt.Errorf("open postgres:%s: %w", redact(dsn), err)
	}
	queue.SetMaxOpenConns(postgresQueue)
	queue.SetMaxIdleConns(postgresQueue)
	s.queue = queue
	return nil
}

// migratePostgres applies the PostgreSQL migrations not yet recorded, all
// in one transaction (PostgreSQL's schema changes are transactional) under
// an advisory lock: of several processes starting at once, one migrates
// and the others then find nothing left to do.
func (s *Store) migratePostgres(ctx context.Context) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT   PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := migrationNames(postgresDialect)
	if err != nil {
		return err
	}
	for _, name := range names {
		var applied bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&applied); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if applied {
			continue
		}
		script, err := migrations.ReadFile(postgresDialect.migrations() + name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(script)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, millis(s.now())); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// isTransient reports whether PostgreSQL failed a transaction only because
// of another one running at the same time: running it again may succeed.
func isTransient(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
