// Package storage keeps Hearth's state: groups, remote actors, memberships,
// posts, and the outgoing delivery queue, in SQLite (the default) or in
// PostgreSQL, which several serving processes can share. Both run the same
// queries; dialect.go holds what differs. It is a leaf package: records are
// plain structs and IRIs are plain strings.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open database: a pool that writes and a pool that reads.
// SQLite allows one writer at a time; funnelling writes through one connection
// turns lock contention into queueing inside database/sql instead of
// SQLITE_BUSY errors. A third connection checkpoints the write-ahead log in
// the background. On PostgreSQL writes are serialised by an advisory lock
// instead (see Update), across every process that shares the database.
type Store struct {
	write      *sql.DB
	read       *sql.DB
	queue      *sql.DB     // PostgreSQL's pool for UpdateQueue, so that it never waits for a writer's connection
	writeStmts *statements // nil on PostgreSQL, whose driver caches statements itself
	readStmts  *statements
	dialect    *dialect
	now        func() time.Time

	stopCheckpoints context.CancelFunc
	checkpointed    chan struct{}
}

// checkpointEvery is how often the background connection copies what the
// write-ahead log holds back into the database. Left to the commits, the
// copy, with its fsync, happens inside the commit that fills the log past
// its limit, and every write waits for it: half a second on a busy disk.
const checkpointEvery = 500 * time.Millisecond

// checkpointBackstop is the size of the write-ahead log, in pages, past
// which a commit checkpoints it itself: only if the background checkpoints
// fall behind.
const checkpointBackstop = 16384

// statements caches prepared statements by their text. SQLite spends more
// time parsing a short statement than running it, and every query here is
// a constant, so each is parsed once per connection instead of per call.
// A statement is prepared after the transaction that first needed it: the
// writer has one connection, which that transaction holds.
type statements struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, m: map[string]*sql.Stmt{}}
}

func (c *statements) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stmt, ok := c.m[query]
	return stmt, ok
}

// prepare prepares the queries not cached yet. A failure only means they
// stay unprepared: each use reports its own error.
func (c *statements) prepare(ctx context.Context, queries []string) {
	if c == nil {
		return
	}
	for _, query := range queries {
		if _, ok := c.lookup(query); ok {
			continue
		}
		stmt, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.m[query]; ok {
			stmt.Close()
		} else {
			c.m[query] = stmt
		}
		c.mu.Unlock()
	}
}

func (c *statements) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, stmt := range c.m {
		errs = append(errs, stmt.Close())
	}
	return errors.Join(errs...)
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

// Open opens (creating if needed) the database at location and applies
// every migration that has not run yet. A location is a SQLite file's path,
// optionally written "sqlite:PATH", or a PostgreSQL connection string
// ("postgres://…" or "postgres:KEYWORDS"; see ParseLocation).
func Open(ctx context.Context, location string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	open := s.openSQLite
	loc := ParseLocation(location)
	if loc.Postgres {
		open = s.openPostgres
	}
	if err := open(ctx, loc.Name); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	s.dialect = sqliteDialect
	// The database holds every group's private key and members-only posts:
	// only the server's own user may read it.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	s.write = write
	s.writeStmts = newStatements(write)
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(readers)
	// Idle readers are kept, with the statements prepared on them.
	read.SetMaxIdleConns(readers)
	s.read = read
	s.readStmts = newStatements(read)
	checkpoints, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		read.Close()
		write.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	checkpoints.SetMaxOpenConns(1)
	checkpointCtx, stop := context.WithCancel(context.Background())
	s.stopCheckpoints, s.checkpointed = stop, make(chan struct{})
	go s.checkpoint(checkpointCtx, checkpoints)
	return nil
}

// checkpoint checkpoints the write-ahead log every checkpointEvery until
// ctx ends. A passive checkpoint takes no lock that writers or readers
// wait for: it copies what no reader still needs and leaves the rest to
// the next one, so a failure here only means the log waits a little longer.
func (s *Store) checkpoint(ctx context.Context, db *sql.DB) {
	defer close(s.checkpointed)
	defer db.Close()
	ticker := time.NewTicker(checkpointEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		var busy, logged, copied int
		_ = db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
	}
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
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", checkpointBackstop))
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close stops the checkpoints and closes both pools.
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
		<-s.checkpointed
	}
	errs := []error{s.readStmts.close(), s.writeStmts.close(), s.read.Close(), s.write.Close()}
	if s.queue != nil {
		errs = append(errs, s.queue.Close())
	}
	return errors.Join(errs...)
}

// Postgres reports whether the store is a PostgreSQL database, which other
// processes may be serving too.
func (s *Store) Postgres() bool { return s.dialect.postgres }

// Tx is one transaction. Every query method lives on Tx so the same code runs
// inside a read-only view or as part of a larger write.
type Tx struct {
	ctx        context.Context
	tx         *sql.Tx
	dialect    *dialect
	stmts      *statements
	unprepared []string // queries run here that are not cached yet
	now        time.Time
}

// Now is the time fixed for the whole transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a write transaction and commits it when fn returns nil.
// Everything fn does becomes durable together or not at all. Write
// transactions run one at a time, as SQLite runs them, on PostgreSQL too:
// every rule written as "read, decide, write" holds across processes.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.run(ctx, s.write, s.writeStmts, writeSerialised, fn)
}

// UpdateQueue runs fn in a write transaction that touches only the
// delivery queue and host health: claims and their outcomes. On SQLite it
// is Update. On PostgreSQL it does not wait for other writers: its rows are
// locked one by one (ClaimDeliveries skips those locked by another claim),
// and it is retried when PostgreSQL breaks a deadlock by failing it, so fn
// must be safe to run again.
func (s *Store) UpdateQueue(ctx context.Context, fn func(*Tx) error) error {
	if !s.dialect.postgres {
		return s.Update(ctx, fn)
	}
	var err error
	for range 3 {
		if err = s.run(ctx, s.queue, nil, writeConcurrent, fn); !isTransient(err) {
			return err
		}
	}
	return err
}

// View runs fn in a read-only transaction on the reader pool. It sees one
// snapshot of the database throughout.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	return s.run(ctx, s.read, s.readStmts, readSnapshot, fn)
}

// txKind is how a transaction meets the others.
type txKind int

const (
	readSnapshot txKind = iota
	writeSerialised
	writeConcurrent
)

func (s *Store) run(ctx context.Context, db *sql.DB, stmts *statements, kind txKind, fn func(*Tx) error) error {
	tx, err := s.begin(ctx, db, stmts, kind)
	if err != nil {
		return err
	}
	err = tx.finish(fn)
	stmts.prepare(context.WithoutCancel(ctx), tx.unprepared)
	return err
}

func (s *Store) begin(ctx context.Context, db *sql.DB, stmts *statements, kind txKind) (*Tx, error) {
	opts := &sql.TxOptions{ReadOnly: kind == readSnapshot}
	if kind == readSnapshot && s.dialect.postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, translate(err)
	}
	tx := &Tx{ctx: ctx, tx: sqlTx, dialect: s.dialect, stmts: stmts, now: s.now()}
	if kind == writeSerialised && s.dialect.postgres {
		if _, err := sqlTx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writerLock); err != nil {
			sqlTx.Rollback()
			return nil, translate(err)
		}
		// The clock is read once the lock is held, so that transactions
		// are stamped in the order they commit, as on SQLite.
		tx.now = s.now()
	}
	return tx, nil
}

// finish runs fn and commits, or rolls back on every other way out, panics
// included: a transaction left open would hold the only writer.
func (tx *Tx) finish(fn func(*Tx) error) error {
	defer tx.tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return translate(tx.tx.Commit())
}

// prepared is the cached statement for query bound to this transaction, or
// nil when it is not prepared yet or statements are not cached here.
func (tx *Tx) prepared(query string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	stmt, ok := tx.stmts.lookup(query)
	if !ok {
		tx.unprepared = append(tx.unprepared, query)
		return nil
	}
	return tx.tx.StmtContext(tx.ctx, stmt)
}

func (tx *Tx) exec(query string, args ...any) (sql.Result, error) {
	query, args = tx.dialect.bind(query, args)
	var res sql.Result
	var err error
	if stmt := tx.prepared(query); stmt != nil {
		res, err = stmt.ExecContext(tx.ctx, args...)
	} else {
		res, err = tx.tx.ExecContext(tx.ctx, query, args...)
	}
	return res, translate(err)
}

func (tx *Tx) queryRow(query string, args ...any) *sql.Row {
	query, args = tx.dialect.bind(query, args)
	if stmt := tx.prepared(query); stmt != nil {
		return stmt.QueryRowContext(tx.ctx, args...)
	}
	return tx.tx.QueryRowContext(tx.ctx, query, args...)
}

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	query, args = tx.dialect.bind(query, args)
	var rows *sql.Rows
	var err error
	if stmt := tx.prepared(query); stmt != nil {
		rows, err = stmt.QueryContext(tx.ctx, args...)
	} else {
		rows, err = tx.tx.QueryContext(tx.ctx, query, args...)
	}
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
