package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-social/hearth/storage"
)

// migrateStorage copies an instance from one database to another: from its
// SQLite file to PostgreSQL, or back.
func migrateStorage(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	from := fs.String("from", "", "the database to copy: sqlite:PATH or postgres:DSN")
	to := fs.String("to", "", "the empty database to copy it into: postgres:DSN or sqlite:PATH")
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 || *from == "" || *to == "" {
		return usagef("want --from sqlite:PATH --to postgres:DSN")
	}
	source, target := storage.ParseLocation(*from), storage.ParseLocation(*to)
	if source == target {
		return usagef("--from and --to name the same database")
	}
	// A server writing to the file while it is copied would lose what it
	// writes after the copy's snapshot. A PostgreSQL source cannot be
	// checked so: its servers must be stopped by hand.
	if !source.Postgres {
		release, err := storage.LockServing(source.Name)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, release()) }()
	}
	src, err := storage.Open(ctx, *from)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	dst, err := storage.Open(ctx, *to)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dst.Close()) }()
	copied, err := storage.CopyAll(ctx, src, dst)
	if errors.Is(err, storage.ErrNotEmpty) {
		return fmt.Errorf("%s: %w; migrate-storage copies into an empty database only", target, err)
	}
	if err != nil {
		return err
	}
	var lines []string
	total := 0
	for table, n := range copied {
		total += n
		if n > 0 {
			lines = append(lines, fmt.Sprintf("  %-24s %d", table, n))
		}
	}
	slices.Sort(lines)
	fmt.Fprintf(c.stdout, "Copied %d rows from %s to %s:\n%s\n", total, source, target, strings.Join(lines, "\n"))
	fmt.Fprintln(c.stdout, `Point the configuration at the new database (storage.driver and storage.dsn or storage.path), then start "hearth serve".`)
	return nil
}
