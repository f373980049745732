package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// seedQueue opens the configured database and leaves in it a host that is
// resting after failures, a delivery refused for good, and one queued to a
// healthy host.
func seedQueue(t *testing.T, cfg Config) {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, cfg.StorageLocation())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Update(ctx, func(tx *storage.Tx) error {
		for _, a := range []struct{ id, inbox string }{
			{"https://hearth.example/a/1", "https://down.example/inbox"},
			{"https://hearth.example/a/2", "https://down.example/inbox"},
			{"https://hearth.example/a/3", "https://picky.example/users/bob/inbox"},
			{"https://hearth.example/a/4", "https://fine.example/inbox"},
		} {
			if err := tx.Enqueue(storage.Activity{ID: a.id, Type: "Announce", Body: []byte(`{}`)}, []string{a.inbox}); err != nil {
				return err
			}
		}
		jobs, err := tx.ClaimDeliveries(10, 10, 4, tx.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		var outcomes []storage.Outcome
		for _, j := range jobs {
			switch j.Host {
			case "down.example":
				outcomes = append(outcomes, storage.Outcome{Job: j, Verdict: storage.RetryLater,
					Error: "HTTP 503", NextAttempt: tx.Now().Add(time.Minute), HostRetryAt: tx.Now().Add(time.Hour)})
			case "picky.example":
				outcomes = append(outcomes, storage.Outcome{Job: j, Verdict: storage.Refused, Error: "refused with HTTP 403"})
			}
		}
		return tx.RecordOutcomes(outcomes)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func queueEnv(cfg Config) func(string) string {
	vars := map[string]string{
		"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path,
		"HEARTH_FEDERATION_INSECURE_DEV": "true",
	}
	return func(name string) string { return vars[name] }
}

func TestDeliveriesShowsQueueFailingHostsAndGivenUp(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	seedQueue(t, cfg)
	out := mustHearth(t, queueEnv(cfg), "deliveries")
	for _, want := range []string{
		"Queued:  3 (1 due now, 2 waiting on failing hosts)",
		"Given up: 1",
		"Failing hosts:",
		"down.example",
		"HTTP 503",
		"from now)", // the next try, an hour away
		"Recently given up:",
		"https://picky.example/users/bob/inbox",
		"refused with HTTP 403",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "picky.example  ") || strings.Contains(out, "fine.example") {
		t.Errorf("a host that answered is listed as failing:\n%s", out)
	}
	var downRow string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "down.example") {
			downRow = line
		}
	}
	if fields := strings.Fields(downRow); len(fields) < 2 || fields[1] != "1" || !strings.Contains(downRow, " 2 ") {
		t.Errorf("down.example row %q, want 1 failure and 2 queued", downRow)
	}
}

func TestDeliveriesShowsWhatIsStillToBeAddressedToTheMembers(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := queueEnv(cfg)
	mustHearth(t, getenv, "group", "create", "grief")
	if out := mustHearth(t, getenv, "deliveries"); strings.Contains(out, "Still addressing") {
		t.Errorf("before any activity for the members:\n%s", out)
	}
	// With the server stopped, the new profile waits for it to reach the
	// members' servers.
	mustHearth(t, getenv, "group", "update", "grief", "--display-name", "Grief support")
	if out := mustHearth(t, getenv, "deliveries"); !strings.Contains(out, "Still addressing: 1 (activities for all of a group's members") {
		t.Errorf("after a profile update:\n%s", out)
	}
}

func TestDeliveriesRetryRequeuesAHostsDeliveries(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	seedQueue(t, cfg)
	getenv := queueEnv(cfg)
	if out := mustHearth(t, getenv, "deliveries", "retry", "DOWN.example"); out != "requeued 2 deliveries to down.example\n" {
		t.Errorf("retry said %q", out)
	}
	out := mustHearth(t, getenv, "deliveries")
	if !strings.Contains(out, "Queued:  3 (3 due now, 0 waiting on failing hosts)") {
		t.Errorf("after retry:\n%s", out)
	}
	if out := mustHearth(t, getenv, "deliveries", "retry", "https://picky.example/users/bob/inbox"); out != "requeued 1 deliveries to picky.example\n" {
		t.Errorf("retrying a given-up delivery said %q", out)
	}
	if out := mustHearth(t, getenv, "deliveries"); !strings.Contains(out, "Given up: 0") || strings.Contains(out, "Recently given up") {
		t.Errorf("after retrying the refused delivery:\n%s", out)
	}
}

func TestDeliveriesUsageErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := queueEnv(cfg)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deliveries", "retry"}, "missing HOST"},
		{[]string{"deliveries", "retry", "a.example", "b.example"}, `unexpected argument "b.example"`},
		{[]string{"deliveries", "flush"}, `unknown command "flush"`},
		{[]string{"deliveries", "retry", "a.example/inbox"}, "is not a host name"},
	} {
		code, _, stderr := hearth(t, getenv, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("hearth %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	code, stdout, _ := hearth(t, getenv, "deliveries", "--help")
	if code != 0 || !strings.Contains(stdout, "retry") {
		t.Errorf("deliveries --help: exit %d, %q", code, stdout)
	}
}
