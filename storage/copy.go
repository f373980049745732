package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// copiedTables is every table of an instance, parents before the tables
// whose rows name theirs. schema_migrations is not copied: each database
// records its own.
var copiedTables = []string{
	"groups", "instance_key", "actors", "memberships", "moderators", "posts", "activities", "deliveries",
	"hosts", "seen_activities", "notices", "domain_policies", "domain_policies_version", "reports",
	"report_posts", "moderation_log", "command_refusals", "instance_profile", "group_pages", "group_icons",
	"admins", "admin_sessions", "delivery_hours", "fanouts",
}

// identityTables are the tables whose id the database assigns: after a
// copy, PostgreSQL's sequence must continue after the highest id copied.
var identityTables = []string{"groups", "posts", "deliveries", "reports", "moderation_log", "admins", "fanouts"}

// ErrNotEmpty is returned by CopyAll when the target holds data already.
var ErrNotEmpty = errors.New("the target database holds data already")

// copyBatch is how many rows one INSERT copies.
const copyBatch = 200

// CopyAll copies every row of the instance in from into to, which must
// hold none yet (the row counting the changes to domain policies, which
// every new database has, excepted), and returns how many rows of each
// table it copied. It reads one snapshot of from and writes in one
// transaction, so the target gets all of it or nothing.
func CopyAll(ctx context.Context, from, to *Store) (map[string]int, error) {
	copied := map[string]int{}
	err := from.View(ctx, func(src *Tx) error {
		return to.Update(ctx, func(dst *Tx) error {
			if err := dst.mustBeEmpty(); err != nil {
				return err
			}
			for _, table := range copiedTables {
				n, err := copyTable(src, dst, table)
				if err != nil {
					return fmt.Errorf("copying %s: %w", table, err)
				}
				copied[table] = n
			}
			if dst.dialect.postgres {
				for _, table := range identityTables {
					if _, err := dst.exec(`SELECT setval(pg_get_serial_sequence('` + table + `', 'id'), max(id)) FROM ` + table + ` HAVING count(*) > 0`); err != nil {
						return fmt.Errorf("continuing the ids of %s: %w", table, err)
					}
				}
			}
			return nil
		})
	})
	return copied, err
}

func (tx *Tx) mustBeEmpty() error {
	for _, table := range copiedTables {
		if table == "domain_policies_version" {
			continue
		}
		var found bool
		if err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM ` + table + `)`).Scan(&found); err != nil {
			return translate(err)
		}
		if found {
			return fmt.Errorf("%w (table %s has rows)", ErrNotEmpty, table)
		}
	}
	return nil
}

// copyTable copies table's rows from src into dst, a batch at a time, and
// returns how many it copied. The columns are those the source has, which
// the target has too: both schemas are at the same version.
func copyTable(src, dst *Tx, table string) (int, error) {
	if table == "domain_policies_version" {
		var version int64
		if err := src.queryRow(`SELECT version FROM domain_policies_version WHERE id = 1`).Scan(&version); err != nil {
			return 0, translate(err)
		}
		_, err := dst.exec(`UPDATE domain_policies_version SET version = ? WHERE id = 1`, version)
		return 1, err
	}
	rows, err := src.query(`SELECT * FROM ` + table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	binary, err := dst.binaryColumns(table)
	if err != nil {
		return 0, err
	}
	var batch []any
	copied := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
		n := len(batch) / len(columns)
		_, err := dst.exec(`INSERT INTO `+table+` (`+strings.Join(columns, ", ")+`) VALUES `+
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", "), batch...)
		copied += n
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		values := make([]any, len(columns))
		pointers := make([]any, len(columns))
		for i := range values {
			pointers[i] = &values[i]
		}
		if err := rows.Scan(pointers...); err != nil {
			return copied, translate(err)
		}
		for i, v := range values {
			values[i] = asStored(v, binary[columns[i]])
		}
		batch = append(batch, values...)
		if len(batch) >= copyBatch*len(columns) {
			if err := flush(); err != nil {
				return copied, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return copied, translate(err)
	}
	return copied, flush()
}

// asStored gives a value read from one database the Go type the other
// stores it from: bytes for a binary column, text for a text one. An empty
// binary value may be read as nil, which is not NULL: every binary column
// is NOT NULL.
func asStored(v any, binary bool) any {
	switch v := v.(type) {
	case nil:
		if binary {
			return []byte{}
		}
	case string:
		if binary {
			return []byte(v)
		}
	case []byte:
		if !binary {
			return string(v)
		}
		if v == nil {
			return []byte{}
		}
	}
	return v
}

// binaryColumns names the columns of table that hold bytes
// (TestCopiedTablesAreEveryTable holds them all NOT NULL).
func (tx *Tx) binaryColumns(table string) (map[string]bool, error) {
	query := `SELECT name, type = 'BLOB' FROM pragma_table_info(?)`
	if tx.dialect.postgres {
		query = `SELECT column_name, data_type = 'bytea' FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ?`
	}
	rows, err := tx.query(query, table)
	if err != nil {
		return nil, err
	}
	binary := map[string]bool{}
	_, err = scanAll(rows, func(r *sql.Rows) (struct{}, error) {
		var name string
		var isBinary bool
		err := r.Scan(&name, &isBinary)
		binary[name] = isBinary
		return struct{}{}, err
	})
	return binary, err
}
