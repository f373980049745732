package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	if !errors.Is(err, transport.ErrInsecureScheme) || !errors.Is(err, transport.ErrRefused) {
		t.Errorf("plain http: got %v, want ErrInsecureScheme", err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, strings.Replace(srv.URL, "http:", "https:", 1), nil)
	_, err = strict.Do(req)
	if !errors.Is(err, transport.ErrForbiddenAddress) || !errors.Is(err, transport.ErrRefused) {
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
	if !errors.Is(err, transport.ErrInsecureScheme) || !errors.Is(err, transport.ErrRefused) {
		t.Errorf("redirect to http: got %v, want ErrInsecureScheme", err)
	}
}

func TestEndlessRedirectsAreRefused(t *testing.T) {
	var hits atomic.Int32
	loop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer loop.Close()
	client := transport.NewClient(transport.Options{Base: loop.Client().Transport})
	_, err := client.Get(loop.URL)
	var urlErr *url.Error
	if !errors.As(err, &urlErr) || !errors.Is(err, transport.ErrRefused) {
		t.Errorf("endless redirects: got %v, want a *url.Error matching ErrRefused", err)
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestAServerThatStallsIsCutOffAtTheTimeout: whether a server holds back
// its answer or stops halfway through the body, the request ends with the
// timeout.
func TestAServerThatStallsIsCutOffAtTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Write([]byte("the start of an answer"))
			w.(http.Flusher).Flush()
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	client := transport.NewClient(transport.Options{Insecure: true, Timeout: 50 * time.Millisecond})

	if _, err := client.Get(srv.URL + "/headers"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("server holding back its answer: got %v, want the deadline exceeded", err)
	}
	resp, err := client.Get(srv.URL + "/body")
	if err != nil {
		t.Fatalf("server stalling in the body: %v, want its headers", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("server stalling in the body: reading it gave %v, want the deadline exceeded", err)
	}
}

func TestIsPublic(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"1.1.1.1", true},
		{"223.255.255.254", true},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.1.2.3", false},
		{"100.63.255.255", true},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"100.128.0.0", true},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"192.0.0.8", false},
		{"192.0.0.170", false},
		{"192.0.1.1", true},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.17.255.255", true},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.20.0.1", true},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		{"2606:4700::1111", true},
		{"2a00:1450:4001::1", true},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false},
		{"::93.184.216.34", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:93.184.216.34", true},
		{"::ffff:0:93.184.216.34", false},
		{"64:ff9b::93.184.216.34", true},
		{"64:ff9b::127.0.0.1", false},
		{"64:ff9b::10.0.0.1", false},
		{"64:ff9b::169.254.169.254", false},
		{"64:ff9b:1::93.184.216.34", false},
		{"64:ff9b:1:ffff::1", false},
		{"100::1", false},
		{"100:0:0:1::1", false},
		{"2001::1", false},
		{"2001:0:5ef5:79fd::1", false},
		{"2001:2::1", false},
		{"2001:1ff:ffff::1", false},
		{"2001:200::1", true},
		{"2001:db8::1", false},
		{"2002:5db8:d822::1", true},
		{"2002:7f00:1::1", false},
		{"2002:a00:1::1", false},
		{"2002:c0a8:101::1", false},
		{"3fff::1", false},
		{"4000::1", false},
		{"5f00::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"febf::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
	} {
		if got := transport.IsPublic(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsPublic(%q) got %v, want %v", tc.addr, got, tc.want)
		}
	}
	if transport.IsPublic(netip.Addr{}) {
		t.Error("IsPublic of the zero Addr got true")
	}
}
