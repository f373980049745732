package activitypub

import (
	"strings"
	"testing"
)

func TestSanitizeHTML(t *testing.T) {
	const rel = ` rel="nofollow noopener noreferrer"`
	tests := []struct{ name, in, want string }{
		{"plain paragraph", `<p>Hello <strong>all</strong></p>`, `<p>Hello <strong>all</strong></p>`},
		{"formatting kept",
			`<p><em>a</em><b>b</b><i>i</i><u>u</u><s>s</s><del>d</del><code>c</code></p><pre>p</pre><blockquote>q</blockquote><ul><li>1</li></ul><ol><li>2</li></ol><br>`,
			`<p><em>a</em><b>b</b><i>i</i><u>u</u><s>s</s><del>d</del><code>c</code></p><pre>p</pre><blockquote>q</blockquote><ul><li>1</li></ul><ol><li>2</li></ol><br>`},
		{"mastodon mention",
			`<span class="h-card" translate="no"><a href="https://hearth.example/g/grief" class="u-url mention">@<span>grief</span></a></span>`,
			`<span class="h-card"><a href="https://hearth.example/g/grief"` + rel + `>@<span>grief</span></a></span>`},
		{"mastodon long link",
			`<a href="https://example.com/a/very/long/path" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a>`,
			`<a href="https://example.com/a/very/long/path"` + rel + `><span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a>`},
		{"mailto link", `<a href="mailto:help@example.org">write</a>`, `<a href="mailto:help@example.org"` + rel + `>write</a>`},
		{"remote rel replaced", `<a href="https://a.example/" rel="me opener">x</a>`, `<a href="https://a.example/"` + rel + `>x</a>`},
		{"other span classes dropped", `<span class="h-card evil">x</span><span class="mention hashtag">#y</span>`, `<span>x</span><span class="mention hashtag">#y</span>`},
		{"script removed with its text", `<p>hi</p><script>alert(1)</script>`, `<p>hi</p>`},
		{"style removed with its text", `<style>p{display:none}</style><p style="color:red">hi</p>`, `<p>hi</p>`},
		{"image dropped", `<p>x<img src="https://tracker.example/pixel.gif" onerror="alert(1)">y</p>`, `<p>xy</p>`},
		{"event handlers dropped", `<p onclick="alert(1)" onmouseover="alert(2)">hi</p>`, `<p>hi</p>`},
		{"javascript link", `<a href="javascript:alert(1)">click</a>`, `click`},
		{"obfuscated javascript link", `<a href="jav&#x09;ascript:alert(1)">click</a>`, `click`},
		{"data link", `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>`, `click`},
		{"relative link", `<a href="/admin">click</a>`, `click`},
		{"iframe removed", `<iframe src="https://evil.example/"></iframe>ok`, `ok`},
		{"svg removed", `<svg onload="alert(1)"><circle r="1"/></svg>ok`, `ok`},
		{"form removed", `<form action="https://evil.example/"><input name="password"></form>ok`, `ok`},
		{"unclosed tags", `<p><strong>bold`, `<p><strong>bold`},
		{"attribute breakout", `<a href="https://a.example/&quot;onmouseover=&quot;alert(1)">x</a>`, `<a href="https://a.example/%22onmouseover=%22alert%281%29"` + rel + `>x</a>`},
		{"rel text is not an attribute", `rel="nofollow noreferrer"`, `rel=&#34;nofollow noreferrer&#34;`},
		{"comment removed", `a<!-- <script>alert(1)</script> -->b`, `ab`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeHTML(tt.in); got != tt.want {
				t.Errorf("SanitizeHTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSanitizeHTMLNeverLetsActiveContentThrough(t *testing.T) {
	hostile := []string{
		`<scr<script>ipt>alert(1)</script>`,
		`<<script>script>alert(1)<</script>/script>`,
		`<a href="https://a.example/" target="_blank" style="position:fixed">x</a>`,
		`<p/onclick=alert(1)>x`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<span class="h-card" onclick="alert(1)">x</span>`,
		"<a href=\"java\x00script:alert(1)\">x</a>",
		strings.Repeat("<p>", 10000) + "deep",
	}
	for _, in := range hostile {
		got := strings.ToLower(SanitizeHTML(in))
		for _, bad := range []string{"<script", "<img", "<style", "<math", "onclick", "onerror", "style=", "target=", "javascript:"} {
			if strings.Contains(got, bad) {
				t.Errorf("SanitizeHTML(%.60q) = %.200q, contains %q", in, got, bad)
			}
		}
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p>Three months today.</p><p>Thank you &amp; goodnight</p>`, `Three months today. Thank you & goodnight`},
		{`<span class="h-card"><a href="https://hearth.example/g/grief">@<span>grief</span></a></span> hi`, `@grief hi`},
		{`line<br>break`, `line break`},
		{`<ul><li>one</li><li>two</li></ul>`, `one two`},
		{`<p title="<p>">a</p><P>b</P>`, `a b`},
		{`<script>alert(1)</script>safe`, `safe`},
		{`1 &lt; 2 &#8212; &quot;ok&quot;`, `1 < 2 — "ok"`},
		{"  spaced \n\t out  ", `spaced out`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
