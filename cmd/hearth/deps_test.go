package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hearth-social/hearth"

// TestImportDirection keeps imports pointing one way:
// cmd → templates, federation → storage, activitypub.
func TestImportDirection(t *testing.T) {
	t.Parallel()
	deps := moduleDeps(t)
	ours := func(pkg string) []string {
		var out []string
		for _, dep := range deps[pkg] {
			if strings.HasPrefix(dep, module+"/") {
				out = append(out, dep)
			}
		}
		return out
	}
	for pkg := range deps {
		rel := strings.TrimPrefix(pkg, module+"/")
		top, _, _ := strings.Cut(rel, "/")
		for _, dep := range deps[pkg] {
			if dep == "github.com/spf13/viper" && top != "cmd" {
				t.Errorf("%s imports viper; only cmd reads configuration", pkg)
			}
			if dep == module+"/federation/fedtest" && rel != "federation/fedtest" {
				t.Errorf("%s imports federation/fedtest, which is for tests only", pkg)
			}
			if strings.HasPrefix(dep, module+"/cmd/") {
				t.Errorf("%s imports %s; nothing imports cmd", pkg, dep)
			}
		}
		switch top {
		case "storage":
			if dep := ours(pkg); !allWithin(dep, module+"/storage") {
				t.Errorf("%s imports %v; storage is a leaf", pkg, dep)
			}
		case "activitypub":
			if dep := ours(pkg); !allWithin(dep, module+"/activitypub") {
				t.Errorf("%s imports %v; activitypub is a leaf", pkg, dep)
			}
			for _, banned := range []string{"database/sql", "github.com/go-chi/chi/v5"} {
				if slices.Contains(deps[pkg], banned) {
					t.Errorf("%s imports %s; activitypub is vocabulary only", pkg, banned)
				}
			}
		case "federation":
			for _, dep := range ours(pkg) {
				if strings.HasPrefix(dep, module+"/templates") {
					t.Errorf("%s imports %s; federation never reaches the web pages", pkg, dep)
				}
				if rel != "federation" && dep == module+"/federation" {
					t.Errorf("%s imports federation; its subpackages serve it, not the other way round", pkg)
				}
			}
		case "templates":
			for _, dep := range ours(pkg) {
				if strings.HasPrefix(dep, module+"/federation") {
					t.Errorf("%s imports %s; templates reach federation through an interface wired in cmd", pkg, dep)
				}
			}
		}
	}
	for _, want := range []string{"storage", "activitypub", "federation", "templates", "cmd/hearth"} {
		if _, ok := deps[module+"/"+want]; !ok {
			t.Errorf("go list did not report %s/%s", module, want)
		}
	}
}

func allWithin(pkgs []string, prefix string) bool {
	for _, p := range pkgs {
		if p != prefix && !strings.HasPrefix(p, prefix+"/") {
			return false
		}
	}
	return true
}

// moduleDeps maps each of the module's packages to everything it imports,
// directly or not, leaving test files out.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-e", "-deps", "-json=ImportPath,Deps,Module", module+"/...").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil && p.Module.Path == module {
			deps[p.ImportPath] = p.Deps
		}
	}
	return deps
}
