package storage

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/hearth-social/hearth/storage/storagetest"
)

// TestCopiedTablesAreEveryTable keeps CopyAll whole as the schema grows: a
// table it does not know would be left behind by a move.
func TestCopiedTablesAreEveryTable(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), storagetest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tables := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	nullableBinary := `SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.type = 'BLOB' AND c."notnull" = 0 AND c.pk = 0`
	if s.Postgres() {
		tables = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
		nullableBinary = `SELECT count(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type = 'bytea' AND is_nullable = 'YES'`
	}
	err = s.View(context.Background(), func(tx *Tx) error {
		rows, err := tx.query(tables)
		if err != nil {
			return err
		}
		names, err := scanAll(rows, func(r *sql.Rows) (string, error) {
			var name string
			return name, r.Scan(&name)
		})
		if err != nil {
			return err
		}
		for _, name := range names {
			if name != "schema_migrations" && !slices.Contains(copiedTables, name) {
				t.Errorf("table %s is not in copiedTables", name)
			}
		}
		var n int
		if err := tx.queryRow(nullableBinary).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			t.Errorf("%d binary columns allow NULL, which a copy would make empty", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
