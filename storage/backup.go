package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the whole database to path, which must
// not exist yet. It runs beside a serving process: SQLite copies one
// snapshot while writers go on. The copy holds every group's private key,
// so it is created readable by its owner only.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect.postgres {
		return errors.New("backup copies a SQLite file; back up a PostgreSQL database with PostgreSQL's own tools (pg_dump)")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup: %s exists already; choose a new file", path)
		}
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
