package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// The exit statuses of "hearth check", one per kind of trouble, so that a
// script or a monitor can tell them apart. 2 stays the usage error.
const (
	checkDatabaseFailed   = 1
	checkMigrationsBehind = 3
	checkConfigInvalid    = 4
	checkWrongInstance    = 5
)

// exitError ends the CLI with a status of its own.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// baseURLTimeout bounds the check that the instance answers at its base URL.
const baseURLTimeout = 10 * time.Second

// check reports whether the instance is fit to run: its configuration, its
// database and whether its base URL serves it. Each line says what was
// checked; the exit status names the first kind of failure.
func check(ctx context.Context, c *cli, args []string) error {
	if err := c.noArgs(args); err != nil {
		return err
	}
	report := func(verdict, what, detail string) {
		fmt.Fprintf(c.stdout, "%-5s %s: %s\n", verdict, what, printable(detail))
	}
	cfg, err := c.config()
	if err != nil {
		report("FAIL", "configuration", err.Error())
		return &exitError{code: checkConfigInvalid, msg: "the configuration is not valid"}
	}
	report("ok", "configuration", "valid")

	h, err := storage.Inspect(ctx, cfg.StorageLocation())
	switch {
	case errors.Is(err, storage.ErrNoDatabase):
		report("warn", "database", cfg.StorageName()+" does not exist yet; \"hearth serve\" creates it")
		return nil
	case err != nil:
		report("FAIL", "database", err.Error())
		return &exitError{code: checkDatabaseFailed, msg: "the database cannot be read"}
	case !h.Hearth && cfg.Storage.Driver == "postgres":
		report("warn", "database", cfg.StorageName()+" holds no Hearth tables yet; \"hearth serve\" creates them")
		return nil
	case !h.Hearth:
		report("FAIL", "database", cfg.StorageName()+" is not a Hearth database")
		return &exitError{code: checkDatabaseFailed, msg: "the database is not Hearth's"}
	case len(h.Problems) > 0:
		report("FAIL", "database", "integrity check: "+strings.Join(h.Problems, "; "))
		return &exitError{code: checkDatabaseFailed, msg: "the database is damaged; restore a backup"}
	}
	if cfg.Storage.Driver == "postgres" {
		report("ok", "database", cfg.StorageName()+" answers and holds Hearth's tables")
	} else {
		report("ok", "database", cfg.Storage.Path+" passes SQLite's integrity check")
	}
	switch {
	case len(h.Unknown) > 0:
		report("FAIL", "migrations", "written by a newer Hearth: "+strings.Join(h.Unknown, ", "))
		return &exitError{code: checkMigrationsBehind, msg: "this Hearth is older than its database"}
	case len(h.Pending) > 0:
		report("FAIL", "migrations", fmt.Sprintf("%d to apply (%s); \"hearth serve\" applies them at start", len(h.Pending), strings.Join(h.Pending, ", ")))
		return &exitError{code: checkMigrationsBehind, msg: "the database needs migrating"}
	}
	report("ok", "migrations", "current")

	base := strings.TrimSuffix(cfg.Server.BaseURL, "/")
	served, err := publishedInstanceKey(ctx, base+"/actor")
	switch {
	case err != nil:
		report("warn", "base URL", "could not reach "+base+" from here ("+err.Error()+"); other servers may not reach it either")
	case h.InstanceKey != "" && served != h.InstanceKey:
		report("FAIL", "base URL", base+" serves another instance's actor: is the proxy pointing at this server?")
		return &exitError{code: checkWrongInstance, msg: "the base URL serves another instance"}
	default:
		report("ok", "base URL", base+" serves this instance's actor")
	}
	return nil
}

// publishedInstanceKey fetches the instance actor at url and returns the
// public key it publishes.
func publishedInstanceKey(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, baseURLTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", activitypub.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var actor struct {
		PublicKey struct {
			PEM string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, activitypub.MaxDocumentSize)).Decode(&actor); err != nil {
		return "", fmt.Errorf("not an actor: %w", err)
	}
	return actor.PublicKey.PEM, nil
}
