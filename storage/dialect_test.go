package storage

import (
	"database/sql"
	"slices"
	"testing"
)

func TestPostgresPlaceholdersAreNumberedOutsideLiteralsAndCasts(t *testing.T) {
	tests := []struct {
		query, want string
		args, bound []any
	}{
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`, []any{1, "x"}, []any{1, "x"}},
		{`UPDATE t SET a = :now WHERE b < :now AND c = :id`, `UPDATE t SET a = $1 WHERE b < $1 AND c = $2`,
			[]any{sql.Named("id", 7), sql.Named("now", 5)}, []any{5, 7}},
		{`SELECT 'a?b :c', "q?" FROM t WHERE x = ?`, `SELECT 'a?b :c', "q?" FROM t WHERE x = $1`, []any{true}, []any{1}},
		{"SELECT CAST(x AS TEXT)::text -- what? :no\nFROM t WHERE y = ?", "SELECT CAST(x AS TEXT)::text -- what? :no\nFROM t WHERE y = $1",
			[]any{false}, []any{0}},
		{`SELECT 'it''s' WHERE a = :a`, `SELECT 'it''s' WHERE a = $1`, []any{sql.Named("a", "v")}, []any{"v"}},
	}
	for _, tt := range tests {
		query, args := postgresDialect.bind(tt.query, tt.args)
		if query != tt.want || !slices.Equal(args, tt.bound) {
			t.Errorf("bind(%q, %v) = %q, %v; want %q, %v", tt.query, tt.args, query, args, tt.want, tt.bound)
		}
	}
}
