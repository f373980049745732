package activitypub

import (
	"html"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// contentPolicy keeps the markup fediverse posts are written in (paragraphs,
// links, emphasis, lists, quotes, code, and the spans Mastodon uses to shape
// mentions and long links) and drops everything else: no images, styles,
// scripts, event handlers or link targets. It is built once; bluemonday
// policies are safe for concurrent use once built.
var contentPolicy = newContentPolicy()

// plainPolicy removes every tag.
var plainPolicy = bluemonday.StrictPolicy()

// blockBoundary matches the tags that separate words visually, so PlainText
// can keep words from adjacent paragraphs apart while "@<span>name</span>"
// still reads "@name".
var blockBoundary = regexp.MustCompile(`(?i)<(?:br|/?(?:p|div|li|ul|ol|blockquote|pre|h[1-6]|tr|td|th))\b`)

// mastodonClasses are the span classes Mastodon's web client and ours style:
// h-card wraps a mention, invisible and ellipsis shorten long links.
var mastodonClasses = regexp.MustCompile(`^(?:(?:h-card|mention|hashtag|invisible|ellipsis)(?:\s+|$))+$`)

func newContentPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()

	p.AllowElements("p", "br")
	p.AllowElements("strong", "em", "b", "i", "u", "s", "del", "code", "pre")
	p.AllowElements("blockquote", "ul", "ol", "li")

	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)

	p.AllowAttrs("class").Matching(mastodonClasses).OnElements("span")
	p.AllowNoAttrs().OnElements("span")
	return p
}

// SanitizeHTML returns post content reduced to the markup Hearth renders and
// relays. Links keep only their href and get rel="nofollow noopener
// noreferrer".
func SanitizeHTML(s string) string {
	clean := contentPolicy.Sanitize(s)
	// NOTE: bluemonday adds noopener only together with target="_blank",
	// which we strip; the rel it writes is fixed, and text cannot contain a
	// raw quote after sanitizing, so this replacement only touches links.
	return strings.ReplaceAll(clean, `rel="nofollow noreferrer"`, `rel="nofollow noopener noreferrer"`)
}

// PlainText returns s with all markup removed, entities decoded and runs of
// whitespace collapsed to one space: for logs, page titles and notifications,
// which escape it again wherever it is shown.
func PlainText(s string) string {
	spaced := blockBoundary.ReplaceAllString(s, " $0")
	return strings.Join(strings.Fields(html.UnescapeString(plainPolicy.Sanitize(spaced))), " ")
}
