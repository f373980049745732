package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// restore puts a backup in place of the database, while no server runs.
func restore(ctx context.Context, c *cli, args []string) error {
	fs := c.flags()
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("want one backup FILE to restore")
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == "postgres" {
		return fmt.Errorf("restore replaces a SQLite file; a PostgreSQL database is restored with PostgreSQL's own tools (pg_restore, psql)")
	}
	kept, err := storage.Restore(ctx, positional[0], cfg.Storage.Path, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Restored %s from %s.\n", cfg.Storage.Path, printable(positional[0]))
	if kept != "" {
		fmt.Fprintf(c.stdout, "The database it replaced is kept as %s; delete it once the instance runs well.\n", kept)
	}
	return nil
}
