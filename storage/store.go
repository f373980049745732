// Package storage keeps Hearth's state in SQLite: groups, remote actors,
// memberships, posts, and the outgoing delivery queue. It is a leaf package:
// records are plain structs and IRIs are plain strings.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open database: one connection that writes and a pool that reads.
// SQLite allows one writer at a time; funnelling writes through one connection
// turns lock contention into queueing inside database/sql instead of
// SQLITE_BUSY errors.
type Store struct {
	write *sql.DB
	read  *sql.DB
	now   func() time.Time
}

// Option changes how a Store is opened.
type Option func(*Store)

// WithClock makes the store stamp rows with the given clock; tests use it to
// move time forward without waiting.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// readers is the size of the read pool; reads are short and the machine small.
const readers = 4

// Open opens (creating if needed) the database at path and applies every
// migration that has not run yet.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.write = write
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(readers)
	s.read = read
	return s, nil
}

// dsn puts the pragmas in the connection string so that every pooled
// connection gets them, not just the first. busy_timeout comes first so the
// others wait rather than fail while another process holds the lock.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("mode", "ro")
	} else {
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Tx is one transaction. Every query method lives on Tx so the same code runs
// inside a read-only view or as part of a larger write.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
	now time.Time
}

// Now is the time fixed for the whole transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a write transaction and commits it when fn returns nil.
// Everything fn does becomes durable together or not at all.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.run(ctx, s.write, false, fn)
}

// View runs fn in a read-only transaction on the reader pool.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	return s.run(ctx, s.read, true, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, readOnly bool, fn func(*Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return translate(err)
	}
	tx := &Tx{ctx: ctx, tx: sqlTx, now: s.now()}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	return translate(sqlTx.Commit())
}

func (tx *Tx) exec(query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(tx.ctx, query, args...)
	return res, translate(err)
}

func (tx *Tx) queryRow(query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(tx.ctx, query, args...)
}

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, query, args...)
	return rows, translate(err)
}

// millis is how every timestamp is stored: Unix milliseconds.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// scanAll reads every row with scan, closing rows.
func scanAll[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}
