package federation

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// mastodonCommand is a moderator's command as Mastodon sends it: the
// group's mention first, the URL made a link whose text is cut in spans.
const mastodonCommand = `<p><span class="h-card" translate="no"><a href="https://hearth.example/g/grief" class="u-url mention">@<span>grief</span></a></span> remove <a href="https://mastodon.example/@alice/1122334455" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="ellipsis">mastodon.example/@alice/11223</span><span class="invisible">34455</span></a> spam, &amp; rude</p>`

func TestParseCommandReadsThePlainText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		content string
		verb    string
		args    []string
	}{
		{mastodonCommand, "remove", []string{"https://mastodon.example/@alice/1122334455", "spam,", "&", "rude"}},
		{`<p>@grief@hearth.example BAN mallory@evil.example 7</p><p>harassing members</p>`, "ban",
			[]string{"mallory@evil.example", "7", "harassing", "members"}},
		{`<p>@grief pending<br>please</p>`, "pending", []string{"please"}},
		{`<p>@grief@hearth.example</p>`, "", nil},
	} {
		got := parseCommand(tc.content)
		if got.verb != tc.verb || !slices.Equal(got.args, tc.args) {
			t.Errorf("parseCommand(%q) = %q %q, want %q %q", tc.content, got.verb, got.args, tc.verb, tc.args)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		mastodonCommand,
		`<p>@grief ban @mallory 3d <b>spam</b></p>`,
		`approve alice@example.social`,
		"<p>\u00a0@a\tresolve\u2028 12</p>",
		`<p>@grief@hearth.example</p>`,
		"@\xff\xfe ÉCHO \u0130x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		cmd := parseCommand(content)
		if cmd.verb != strings.ToLower(cmd.verb) {
			t.Errorf("verb %q is not lower-case", cmd.verb)
		}
		if strings.IndexFunc(cmd.verb, unicode.IsSpace) >= 0 {
			t.Errorf("verb %q has a space", cmd.verb)
		}
		if cmd.verb == "" && len(cmd.args) > 0 {
			t.Errorf("arguments %q without a verb", cmd.args)
		}
		for _, arg := range cmd.args {
			if arg == "" || strings.IndexFunc(arg, unicode.IsSpace) >= 0 {
				t.Errorf("argument %q is empty or has a space", arg)
			}
		}
		if c, ok := commandNamed(cmd.verb); ok {
			c.fits(cmd.args)
		}
	})
}
