package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/fedtest"
)

// TestMetricsMoveWithAFederationRoundTrip has a member join an open group
// and post, with one bad request on the side, then scrapes the metrics
// listener: the counters of what came in, what went out, what was fetched
// and what was served have moved, and the queue's state is there.
func TestMetricsMoveWithAFederationRoundTrip(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	mustHearth(t, env(m), "group", "create", "grief")
	group := m.Service.IRIs().Group("grief")
	masto := network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	post := func(activity any) int {
		resp, err := alice.Post(context.Background(), group+"/inbox", activity)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post(alice.Follow(group)); status != http.StatusAccepted {
		t.Fatalf("follow: %d", status)
	}
	masto.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Accept"))
	note := alice.Create(map[string]any{"content": "<p>Hello.</p>", "to": []any{"https://www.w3.org/ns/activitystreams#Public"},
		"cc": []any{group}, "tag": []any{map[string]any{"type": "Mention", "href": group}}})
	if status := post(note); status != http.StatusAccepted {
		t.Fatalf("post: %d", status)
	}
	masto.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Announce"))
	unsigned, err := http.NewRequest(http.MethodPost, group+"/inbox", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := network.Client().Do(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	scrape := func() string {
		resp, err := http.Get("http://" + m.MetricsListener.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	want := []string{
		`hearth_inbound_activities_total{outcome="accepted",type="Follow"} 1`,
		`hearth_inbound_activities_total{outcome="accepted",type="Create"} 1`,
		`hearth_inbound_activities_total{outcome="refused",type="unknown"} 1`,
		`hearth_signature_failures_total{reason="request is not signed"} 1`,
		`hearth_deliveries_total{outcome="delivered"}`,
		`hearth_fetch_duration_seconds_count{outcome="ok"}`,
		`hearth_http_request_duration_seconds_count{route="/g/{name}/inbox",status="202"} 2`,
		`hearth_delivery_queue_depth`,
		`hearth_delivery_oldest_age_seconds`,
		`hearth_unreachable_hosts 0`,
		`hearth_database_size_bytes`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	}
	// Deliveries are counted as their outcomes come back, a moment after
	// the fake server has them.
	deadline := time.Now().Add(5 * time.Second)
	body := scrape()
	for !strings.Contains(body, `hearth_deliveries_total{outcome="delivered"} 2`) && time.Now().Before(deadline) {
		body = scrape()
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the metrics lack %s", w)
		}
	}
	size := regexp.MustCompile(`(?m)^hearth_database_size_bytes (\S+)$`).FindStringSubmatch(body)
	if len(size) < 2 {
		t.Fatal("no database size")
	}
	if n, err := strconv.ParseFloat(size[1], 64); err != nil || n <= 0 {
		t.Errorf("database size %q", size[1])
	}
	resp, err = http.Get("http://" + m.MetricsListener.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("pprof on the metrics listener: %d", resp.StatusCode)
	}
	if status, _ := fetch(t, m, "/debug/pprof/", ""); status.StatusCode != http.StatusNotFound {
		t.Errorf("pprof on the public listener: %d, want 404", status.StatusCode)
	}
	if status, _ := fetch(t, m, "/metrics", ""); status.StatusCode != http.StatusNotFound {
		t.Errorf("metrics on the public listener: %d, want 404", status.StatusCode)
	}
}
