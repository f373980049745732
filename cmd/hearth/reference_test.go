package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestEveryKeyIsDocumentedWithItsDefault keeps the three places a key is
// described in step: the code's defaults, config.example.yaml (every key,
// set to its default) and the README's configuration table (every key, its
// default and its environment variable).
func TestEveryKeyIsDocumentedWithItsDefault(t *testing.T) {
	t.Parallel()
	var keys []string
	for key := range defaults {
		keys = append(keys, key)
	}
	slices.Sort(keys)

	example := viper.New()
	example.SetConfigFile("../../config.example.yaml")
	if err := example.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	exampleKeys := example.AllKeys()
	slices.Sort(exampleKeys)
	if !slices.Equal(exampleKeys, keys) {
		t.Errorf("config.example.yaml has keys %v, the code %v", exampleKeys, keys)
	}
	for _, key := range keys {
		if got, want := fmt.Sprint(example.Get(key)), fmt.Sprint(defaults[key]); got != want {
			t.Errorf("config.example.yaml sets %s to %s, but its default is %s", key, got, want)
		}
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| ([^|]+) \\| `(HEARTH_[A-Z_]+)` \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		key, def, env := m[1], strings.TrimSpace(m[2]), m[3]
		documented[key] = true
		want, known := defaults[key]
		if !known {
			t.Errorf("README documents %s, which is no key", key)
			continue
		}
		if env != envName(key) {
			t.Errorf("README names %s's variable %s, want %s", key, env, envName(key))
		}
		if list, ok := want.([]string); ok && len(list) == 0 || want == "" {
			if def != "empty" {
				t.Errorf("README gives %s the default %s, want empty", key, def)
			}
		} else if def != "`"+fmt.Sprint(want)+"`" {
			t.Errorf("README gives %s the default %s, want `%v`", key, def, want)
		}
	}
	for _, key := range keys {
		if !documented[key] {
			t.Errorf("README's configuration table lacks %s", key)
		}
	}
}
