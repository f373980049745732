package storage

import (
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// dialect is what differs between SQLite and PostgreSQL, in one place.
// Queries are written once, in the SQL both understand, with ? and :name
// placeholders as SQLite takes them; on PostgreSQL bind numbers them. The
// few things the two spell differently (reading a JSON array passed as a
// parameter, above all) are the dialect's fields.
type dialect struct {
	postgres bool
	plans    sync.Map // query text → binding, on PostgreSQL

	// textList is a subquery of the strings in a JSON array parameter,
	// named by the placeholder it is given, as one column called value.
	textList func(param string) string
	// pairList is a subquery of the two-string arrays in a JSON array
	// parameter, as columns first, second, in the array's order.
	pairList func(param string) string
	// listLength is the length of a JSON array parameter.
	listLength func(param string) string
	// jsonList aggregates a column into a JSON array, as text.
	jsonList func(column string) string
	// contains is whether text a contains text b.
	contains func(a, b string) string
	// newline is a newline character.
	newline string
	// skipLocked ends a SELECT whose rows the transaction will update,
	// locking them and leaving out those another transaction holds.
	skipLocked string
	// addressedToPublic is whether the activity body in column (JSON, as
	// bytes) lists PublicAudience in its "to".
	addressedToPublic func(column string) string
	// activityShell is what an erased activity's body becomes: its id,
	// type and actor, enough to answer a fetch of it with 410 and nothing
	// more.
	activityShell string
}

var sqliteDialect = &dialect{
	textList: func(param string) string { return `SELECT value FROM json_each(` + param + `)` },
	pairList: func(param string) string {
		return `SELECT value ->> 0 AS first, value ->> 1 AS second FROM json_each(` + param + `) ORDER BY key`
	},
	listLength: func(param string) string { return `json_array_length(` + param + `)` },
	jsonList:   func(column string) string { return `json_group_array(` + column + `)` },
	contains:   func(a, b string) string { return `instr(` + a + `, ` + b + `) > 0` },
	newline:    `char(10)`,
	addressedToPublic: func(column string) string {
		return `EXISTS (SELECT 1 FROM json_each(CAST(` + column + ` AS TEXT), '$.to') WHERE value = '` + PublicAudience + `')`
	},
	activityShell: `CAST(json_object('@context', 'https://www.w3.org/ns/activitystreams',
		'id', id, 'type', type, 'actor', json_extract(CAST(body AS TEXT), '$.actor')) AS BLOB)`,
}

var postgresDialect = &dialect{
	postgres: true,
	textList: func(param string) string {
		return `SELECT jsonb_array_elements_text(CAST(` + param + ` AS jsonb)) AS value`
	},
	pairList: func(param string) string {
		return `SELECT e.value ->> 0 AS first, e.value ->> 1 AS second
			FROM jsonb_array_elements(CAST(` + param + ` AS jsonb)) WITH ORDINALITY AS e (value, n) ORDER BY n`
	},
	listLength: func(param string) string { return `jsonb_array_length(CAST(` + param + ` AS jsonb))` },
	jsonList:   func(column string) string { return `CAST(json_agg(` + column + `) AS TEXT)` },
	contains:   func(a, b string) string { return `strpos(` + a + `, ` + b + `) > 0` },
	newline:    `chr(10)`,
	skipLocked: ` FOR UPDATE SKIP LOCKED`,
	addressedToPublic: func(column string) string {
		return `(CAST(convert_from(` + column + `, 'UTF8') AS jsonb) -> 'to' @> '["` + PublicAudience + `"]'
			OR CAST(convert_from(` + column + `, 'UTF8') AS jsonb) ->> 'to' = '` + PublicAudience + `')`
	},
	activityShell: `convert_to(CAST(json_build_object('@context', 'https://www.w3.org/ns/activitystreams',
		'id', id, 'type', type, 'actor', CAST(convert_from(body, 'UTF8') AS jsonb) ->> 'actor') AS TEXT), 'UTF8')`,
}

// binding is a query rewritten for PostgreSQL: its text with numbered
// placeholders, and for each number the argument it takes.
type binding struct {
	text  string
	slots []slot
}

// slot is the argument of one numbered placeholder: the position-th of
// the unnamed arguments, or the one called name.
type slot struct {
	position int
	name     string
}

// bind returns the query and arguments as the driver takes them. SQLite
// takes both as written. PostgreSQL numbers its placeholders, and stores
// flags as integers, as SQLite does, so a bool argument is sent as 0 or 1.
func (d *dialect) bind(query string, args []any) (string, []any) {
	if !d.postgres {
		return query, args
	}
	var b binding
	if cached, ok := d.plans.Load(query); ok {
		b = cached.(binding)
	} else {
		b = numberPlaceholders(query)
		d.plans.Store(query, b)
	}
	var positional []any
	named := map[string]any{}
	for _, arg := range args {
		if n, ok := arg.(sql.NamedArg); ok {
			named[n.Name] = n.Value
		} else {
			positional = append(positional, arg)
		}
	}
	bound := make([]any, len(b.slots))
	for i, s := range b.slots {
		var v any
		if s.name != "" {
			v = named[s.name]
		} else if s.position < len(positional) {
			v = positional[s.position]
		}
		if flag, ok := v.(bool); ok {
			v = 0
			if flag {
				v = 1
			}
		}
		bound[i] = v
	}
	return b.text, bound
}

// numberPlaceholders rewrites ? and :name as $1, $2…, a name keeping its
// number wherever it recurs. String literals, quoted names, comments and
// PostgreSQL's :: casts are left as they are.
func numberPlaceholders(query string) binding {
	var b binding
	var out strings.Builder
	numbers := map[string]int{}
	positional := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				out.WriteString(query[i:])
				i = len(query)
				continue
			}
			out.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			out.WriteString(query[i : i+end])
			i += end - 1
		case c == '?':
			b.slots = append(b.slots, slot{position: positional})
			positional++
			out.WriteString("$" + strconv.Itoa(len(b.slots)))
		case c == ':' && i+1 < len(query) && query[i+1] == ':':
			out.WriteString("::")
			i++
		case c == ':' && i+1 < len(query) && isNameStart(query[i+1]):
			end := i + 1
			for end < len(query) && isNameByte(query[end]) {
				end++
			}
			name := query[i+1 : end]
			n, ok := numbers[name]
			if !ok {
				b.slots = append(b.slots, slot{name: name})
				n = len(b.slots)
				numbers[name] = n
			}
			out.WriteString("$" + strconv.Itoa(n))
			i = end - 1
		default:
			out.WriteByte(c)
		}
	}
	b.text = out.String()
	return b
}

func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isNameByte(c byte) bool { return isNameStart(c) || '0' <= c && c <= '9' }
