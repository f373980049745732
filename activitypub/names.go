package activitypub

import (
	"strings"
	"unicode"
)

// ValidUsername reports whether s can be the username of a remote account,
// as Mastodon accepts them: ASCII letters, digits, '_', '.' and '-', with
// neither '.' nor '-' first or last. Anything else in a preferredUsername
// could show the handle as someone else's (a second '@', a right-to-left
// override) or rewrite an administrator's terminal. Non-ASCII letters are
// refused too, lookalikes of ASCII ones among them.
func ValidUsername(s string) bool {
	if s == "" || strings.ContainsAny(s[:1]+s[len(s)-1:], ".-") {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// IsControlOrBidi reports whether r is invisible yet changes how the text
// around it is shown: a control character (C0, DEL, C1), which a terminal
// may obey, a bidirectional formatting character (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069), which reorders what follows it, or a
// line or paragraph separator. Text from other servers must not carry these
// into a terminal or into what the group writes.
func IsControlOrBidi(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

// WithoutControls drops from s every character IsControlOrBidi reports,
// newlines and tabs included: for text from another server that the group
// puts in its own notes, such as a handle, a content warning or a line of
// an anonymous post.
func WithoutControls(s string) string {
	return strings.Map(func(r rune) rune {
		if IsControlOrBidi(r) {
			return -1
		}
		return r
	}, s)
}
