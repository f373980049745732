package signature

import (
	"strings"
	"testing"
)

// serializeDictionary writes members back in canonical form, to show what
// the parser read.
func serializeDictionary(members []member) string {
	var b strings.Builder
	for i, m := range members {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.key)
		switch v := m.value.(type) {
		case []item:
			b.WriteString("=" + serializeInnerList(v, m.params))
			continue
		case bool:
			if v {
				writeParams(&b, m.params)
				continue
			}
		}
		b.WriteByte('=')
		writeBareItem(&b, m.value)
		writeParams(&b, m.params)
	}
	return b.String()
}

func TestParseDictionary(t *testing.T) {
	valid := []struct{ field, canonical string }{
		{``, ``},
		{`a=1, b=2;x=1;y=2, c=(a   b   c), d`, `a=1, b=2;x=1;y=2, c=(a b c), d`},
		{` sig1=( "@method"  "@path" );created=1;keyid="k"  `, `sig1=("@method" "@path");created=1;keyid="k"`},
		{`a=1,b=2,	c=3`, `a=1, b=2, c=3`},
		{`a=?0, b=?1, c;x=?1`, `a=?0, b, c;x`},
		{`a=1.5, b=-0.25, c=1.000, d=-999999999999.999`, `a=1.5, b=-0.25, c=1.0, d=-999999999999.999`},
		{`a=999999999999999, b=-999999999999999`, `a=999999999999999, b=-999999999999999`},
		{`a=:aGVsbG8=:, b=:aGVsbG8:, c=::`, `a=:aGVsbG8=:, b=:aGVsbG8=:, c=::`},
		{`a="q\"uote\\d", b=""`, `a="q\"uote\\d", b=""`},
		{`a=tok/en:x, b=*t, c=T!#$%&'*+-.^_|~`, `a=tok/en:x, b=*t, c=T!#$%&'*+-.^_|~`},
		{`a=(), b=();p=1, c=( )`, `a=(), b=();p=1, c=()`},
		{`*k.-_9=1`, `*k.-_9=1`},
		{`a=(1;p; q="x" 2)`, `a=(1;p;q="x" 2)`},
	}
	for _, test := range valid {
		members, err := parseDictionary(test.field)
		if err != nil {
			t.Errorf("parseDictionary(%q): %v", test.field, err)
			continue
		}
		if got := serializeDictionary(members); got != test.canonical {
			t.Errorf("parseDictionary(%q) reads as %q, want %q", test.field, got, test.canonical)
		}
	}

	invalid := []string{
		`a=1,`, `a=1,,b=2`, `,a=1`, `A=1`, `1a=1`, `a=1 b=2`, `a= 1`, `a =1`, `a=1 ;x`,
		`a=(1 2`, `a=(1,2)`, `a=(1)x`, `a=((1))`, `a=(1 2)(3)`,
		`a="x`, `a="x\y"`, `a="é"`, "a=\"tab\there\"", `a=é`,
		`a=:aGV=sbG8:`, `a=:a b:`, `a=:aGVsbG8`, `a=:aGVsbG8==:`, `a=:A===:`,
		`a=1234567890123456`, `a=-1234567890123456`, `a=1.2345`, `a=1.`, `a=1234567890123.5`, `a=-`, `a=-a`, `a=.5`,
		`a=?2`, `a=?`, `a=1, a=2`, `a=1;x;x`, `a=1;X=1`, `a=1;x=`, `a=1;`, `a=@1`, `a=%"x"`,
		strings.Repeat("a", maxFieldLength+1),
	}
	for _, field := range invalid {
		if members, err := parseDictionary(field); err == nil {
			t.Errorf("parseDictionary(%q) = %q, want an error", field, serializeDictionary(members))
		}
	}
}
