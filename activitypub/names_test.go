package activitypub

import "testing"

func TestValidUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"alice", true},
		{"Alice_W", true},
		{"a", true},
		{"_", true},
		{"mastodon.example", true}, // GoToSocial names its instance actor after the host
		{"instance.actor", true},
		{"jean-luc", true},
		{"a..b", true},
		{"user_", true},
		{"", false},
		{".alice", false},
		{"alice.", false},
		{"-alice", false},
		{"alice-", false},
		{"alice@other.example", false},
		{"alice\u202e", false},
		{"\x1b[2Jalice", false},
		{"alice\nbob", false},
		{"alice bob", false},
		{"al\u0131ce", false}, // dotless i
		{"\u212a", false},     // Kelvin sign, which folds to k
		{"ſ", false},          // long s, which folds to s
		{"zoë", false},
		{"alice\x00", false},
	} {
		if got := ValidUsername(tc.name); got != tc.want {
			t.Errorf("ValidUsername(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIsControlOrBidi(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want bool
	}{
		{0x00, true},
		{'\t', true},
		{'\n', true},
		{0x1b, true},
		{0x7f, true},
		{0x85, true}, // next line
		{0x9b, true}, // control sequence introducer
		{0x061c, true},
		{0x200e, true},
		{0x200f, true},
		{0x202a, true},
		{0x202e, true},
		{0x2066, true},
		{0x2069, true},
		{0x2028, true},
		{0x2029, true},
		{' ', false},
		{'a', false},
		{'\\', false},
		{0xa0, false},   // no-break space
		{0xe9, false},   // é
		{0x05d0, false}, // Hebrew alef: right-to-left writing itself is fine
		{0x0627, false}, // Arabic alef
		{0x200d, false}, // zero-width joiner, which emoji need
		{0xfffd, false},
		{0x1f600, false},
	} {
		if got := IsControlOrBidi(tc.r); got != tc.want {
			t.Errorf("IsControlOrBidi(%U) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestWithoutControls(t *testing.T) {
	for in, want := range map[string]string{
		"@alice@mastodon.example":              "@alice@mastodon.example",
		"@alice@other.example\u202e@evil.test": "@alice@other.example@evil.test",
		"\x1b[31mred\x1b[0m":                   "[31mred[0m",
		"line\nbreak\ttab":                     "linebreaktab",
		"\u2067שלום\u2069 and \u200fmore":      "שלום and more",
		"café 🙂":                               "café 🙂",
	} {
		if got := WithoutControls(in); got != want {
			t.Errorf("WithoutControls(%q) = %q, want %q", in, got, want)
		}
	}
}
