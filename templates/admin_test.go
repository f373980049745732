package templates

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
)

func TestConsoleCookiesAreSecureUnderHTTPS(t *testing.T) {
	t.Parallel()
	for base, secure := range map[string]bool{"https://hearth.example": true, "http://127.0.0.1:8080": false} {
		u, _ := url.Parse(base)
		p, err := New(Config{IRIs: activitypub.NewIRIs(u)})
		if err != nil {
			t.Fatal(err)
		}
		c := p.cookie(sessionCookie, "token", sessionLifetime)
		if c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin" {
			t.Errorf("%s: session cookie %s, want Secure=%v, HttpOnly, SameSite=Lax, Path=/admin", base, c, secure)
		}
	}
}

func TestLimiterAllowsSoManyEventsPerWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(3, time.Minute, func() time.Time { return now })
	for i := range 3 {
		if !l.allow("a") {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if l.allow("a") {
		t.Error("a fourth event in the window was allowed")
	}
	if !l.allow("b") {
		t.Error("another key was refused")
	}
	now = now.Add(time.Minute)
	if !l.allow("a") {
		t.Error("an event in the next window was refused")
	}
}
