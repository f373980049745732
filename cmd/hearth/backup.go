package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// backup copies the database to a new file while the server may be running.
func backup(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("want one FILE to write the backup to")
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := m.Store.Backup(ctx, positional[0]); err != nil {
		return err
	}
	info, err := os.Stat(positional[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Backed up the database to %s (%d bytes). It holds every group's private key: keep it safe.\n", positional[0], info.Size())
	return nil
}
