package activitypub

import (
	"encoding/json"
	"testing"
)

func TestWithoutForeignObjects(t *testing.T) {
	const alice = "https://a.example/users/alice"
	tests := []struct {
		name, in, want string
	}{
		{"own objects stay byte for byte",
			`{"id":"https://a.example/1","type":"Create","actor":"https://a.example/users/alice",  "object":{"id":"https://a.example/n/1","inReplyTo":{"id":"https://a.example/n/0"}}}`,
			`{"id":"https://a.example/1","type":"Create","actor":"https://a.example/users/alice",  "object":{"id":"https://a.example/n/1","inReplyTo":{"id":"https://a.example/n/0"}}}`},
		{"a liked note of another server becomes its id",
			`{"id":"https://a.example/1","type":"Like","actor":"https://a.example/users/alice","object":{"id":"https://v.example/n/1","content":"forged"}}`,
			`{"actor":"https://a.example/users/alice","id":"https://a.example/1","object":"https://v.example/n/1","type":"Like"}`},
		{"a forged parent inside the note becomes its id",
			`{"id":"https://a.example/1","type":"Create","object":{"id":"https://a.example/n/1","inReplyTo":{"id":"https://v.example/n/9","content":"forged"}}}`,
			`{"id":"https://a.example/1","object":{"id":"https://a.example/n/1","inReplyTo":"https://v.example/n/9"},"type":"Create"}`},
		{"inside arrays too, and objects without an id stay",
			`{"id":"https://a.example/1","tag":[{"type":"Mention","href":"https://v.example/u"},{"id":"https://v.example/x","type":"Note"}]}`,
			`{"id":"https://a.example/1","tag":[{"href":"https://v.example/u","type":"Mention"},"https://v.example/x"]}`},
		{"the same host written in capitals is the same server",
			`{"id":"https://a.example/1","object":{"id":"https://A.example/n/1","n":1.50}}`,
			`{"id":"https://a.example/1","object":{"id":"https://A.example/n/1","n":1.50}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithoutForeignObjects([]byte(tt.in), alice)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
}
