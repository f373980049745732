package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/federation/transport"
)

func TestRefusesLoopbackUnlessInsecure(t *testing.T) {
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
	}))
	defer srv.Close()

	strict := transport.NewClient(transport.Options{UserAgent: "Hearth/test"})
	_, err := strict.Get(srv.URL)
	if !errors.Is(err, transport.ErrInsecureScheme) {
		t.Errorf("plain http: got %v, want ErrInsecureScheme", err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, strings.Replace(srv.URL, "http:", "https:", 1), nil)
	_, err = strict.Do(req)
	if !errors.Is(err, transport.ErrForbiddenAddress) {
		t.Errorf("https to loopback: got %v, want ErrForbiddenAddress", err)
	}

	dev := transport.NewClient(transport.Options{UserAgent: "Hearth/test", Insecure: true})
	resp, err := dev.Get(srv.URL)
	if err != nil {
		t.Fatalf("insecure client: %v", err)
	}
	resp.Body.Close()
	if gotUA != "Hearth/test" {
		t.Errorf("User-Agent %q, want Hearth/test", gotUA)
	}
}

func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer redirector.Close()
	client := transport.NewClient(transport.Options{Base: redirector.Client().Transport})
	_, err := client.Get(redirector.URL)
	if !errors.Is(err, transport.ErrInsecureScheme) {
		t.Errorf("redirect to http: got %v, want ErrInsecureScheme", err)
	}
}

func TestIsPublic(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"::1", false},
		{"fc00::1", false},
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"0.0.0.0", false},
		{"2002:7f00:1::1", false},
		{"2001:0:5ef5:79fd::1", false},
		{"fec0::1", false},
	} {
		if got := transport.IsPublic(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsPublic(%q) got %v, want %v", tc.addr, got, tc.want)
		}
	}
}
