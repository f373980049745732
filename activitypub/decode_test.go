package activitypub

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const fixtureDir = "../testdata/activities"

func decodeFixture(t *testing.T, name string) *Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return o
}

// embeddedObject returns the decoded object of an activity, failing the test
// when it was sent by reference.
func embeddedObject(t *testing.T, o *Object) *Object {
	t.Helper()
	if o.Object == nil || o.Object.Embedded == nil {
		t.Fatalf("%s %s: object is not embedded: %+v", o.Type, o.ID, o.Object)
	}
	return o.Object.Embedded
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func equalList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestDecodeFixtures(t *testing.T) {
	const (
		grief     = "https://hearth.example/g/grief"
		alice     = "https://mastodon.example/users/alice"
		aliceNote = "https://mastodon.example/users/alice/statuses/111222333444555666"
	)
	tests := map[string]func(t *testing.T, o *Object){
		"mastodon_follow.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Follow")
			equal(t, "Actor", o.Actor, alice)
			equal(t, "object", o.ObjectID(), grief)
			equal(t, "embedded", o.Object.Embedded == nil, true)
		},
		"mastodon_undo_follow.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Undo")
			follow := embeddedObject(t, o)
			equal(t, "undone type", follow.Type, "Follow")
			equal(t, "undone follow id", o.ObjectID(), "https://mastodon.example/users/alice#follows/4021/9f3c")
			equal(t, "undone follow actor", follow.Actor, alice)
			equal(t, "followed group", follow.ObjectID(), grief)
		},
		"mastodon_create_note_mention.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Create")
			equal(t, "Actor", o.Actor, alice)
			equal(t, "public", o.IsPublic(), true)
			equal(t, "addresses group", o.Addresses(grief), true)
			note := embeddedObject(t, o)
			equal(t, "note type", note.Type, "Note")
			equal(t, "note id", note.ID, aliceNote)
			equal(t, "author", note.AttributedTo, alice)
			equal(t, "content warning", note.Summary, "loss, hospital")
			equal(t, "sensitive", note.Sensitive, true)
			equal(t, "reply parent", note.InReplyTo, "https://hearth.example/g/grief/notes/01HR7Q")
			equal(t, "context", note.Context, "tag:mastodon.example,2024-03-09:objectId=88123:objectType=Conversation")
			equal(t, "mentions group", note.Mentions(grief), true)
			equal(t, "mention name", note.Tag[0].Name, "@grief@hearth.example:8443")
			equal(t, "published", note.Published, time.Date(2024, 3, 9, 18, 22, 41, 0, time.UTC))
			equal(t, "url", note.URL, "https://mastodon.example/@alice/111222333444555666")
			if !strings.Contains(note.Content, "Three months today") {
				t.Errorf("Content = %q, want the post text", note.Content)
			}
			if len(note.Attachment) != 1 {
				t.Fatalf("Attachment = %+v, want one image", note.Attachment)
			}
			want := Attachment{
				Type: "Document", MediaType: "image/jpeg",
				URL:      "https://files.mastodon.example/media_attachments/files/111/222/original/candle.jpg",
				Name:     "A single lit candle on a windowsill",
				Blurhash: "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
				Width:    1200, Height: 900,
			}
			equal(t, "attachment", note.Attachment[0], want)
		},
		"mastodon_delete_tombstone.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Delete")
			equal(t, "Actor", o.Actor, alice)
			equal(t, "deleted", o.ObjectID(), aliceNote)
			equal(t, "tombstone", embeddedObject(t, o).Type, "Tombstone")
		},
		"lemmy_create_page.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Create")
			equal(t, "Actor", o.Actor, "https://lemmy.example/u/bob")
			equalList(t, "Audience", o.Audience, []string{"https://hearth.example/g/recovery"})
			page := embeddedObject(t, o)
			equal(t, "page type", page.Type, "Page")
			equal(t, "title", page.Name, "Two years sober, and what helped")
			equal(t, "page audience addressed", page.Addresses("https://hearth.example/g/recovery"), true)
			equal(t, "public", page.IsPublic(), true)
			equal(t, "link attachment", page.Attachment[0].URL, "https://blog.example/sober-two-years")
			equal(t, "published", page.Published, time.Date(2024, 5, 2, 9, 14, 3, 517285000, time.UTC))
		},
		"mastodon_update_note.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Update")
			equal(t, "published", o.Published, time.Date(2024, 3, 9, 18, 0, 0, 0, time.UTC))
			note := embeddedObject(t, o)
			equal(t, "edited note", note.ID, aliceNote)
			equal(t, "updated", note.Updated, time.Date(2024, 3, 9, 18, 0, 0, 0, time.UTC))
			equal(t, "no content warning", note.Summary, "")
			equal(t, "not a reply", note.InReplyTo, "")
			equal(t, "single tag object mentions group", note.Mentions(grief), true)
			equal(t, "content", note.Content, "<p>Edited: three months today, and I am still standing.</p>")
		},
		"misskey_like.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Like")
			equal(t, "Actor", o.Actor, "https://misskey.example/users/9abcde12345")
			equal(t, "liked", o.ObjectID(), "https://hearth.example/g/grief/notes/01HR7Q")
		},
		"mastodon_move.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Move")
			equal(t, "moved account", o.ObjectID(), alice)
			if o.Target == nil {
				t.Fatal("Target = nil, want the new account")
			}
			equal(t, "new account", o.Target.ID, "https://social.example/users/alice")
		},
		"mastodon_flag.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Flag")
			equal(t, "reporter", o.Actor, "https://mastodon.example/actor")
			equal(t, "reported account", o.ObjectID(), "https://spam.example/users/spammer")
			equalList(t, "reported", o.Objects, []string{
				"https://spam.example/users/spammer",
				"https://spam.example/users/spammer/statuses/1",
				"https://spam.example/users/spammer/statuses/2",
			})
			equal(t, "comment", o.Content, "Spam account posting links in the group")
			equalList(t, "To", o.To, []string{grief})
		},
		"gotosocial_create_single_to.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Create")
			equalList(t, "To", o.To, []string{"https://hearth.example/g/diagnosis"})
			equalList(t, "CC", o.CC, []string{"https://gts.example/users/carol/followers"})
			equal(t, "public", o.IsPublic(), false)
			equal(t, "published", o.Published, time.Date(2024, 3, 11, 10, 2, 7, 0, time.UTC))
			note := embeddedObject(t, o)
			equal(t, "mentions group", note.Mentions("https://hearth.example/g/diagnosis"), true)
			equal(t, "addresses group", note.Addresses("https://hearth.example/g/diagnosis"), true)
		},
		"misskey_create_note.json": func(t *testing.T, o *Object) {
			note := embeddedObject(t, o)
			equal(t, "content is the HTML, not the MFM source",
				note.Content, `<p><a href="https://hearth.example/g/grief" class="u-url mention">@grief@hearth.example</a> <span>thinking of everyone here tonight</span></p>`)
			equal(t, "published", note.Published, time.Date(2024, 3, 12, 21, 45, 10, 123000000, time.UTC))
			equal(t, "mentions group", note.Mentions(grief), true)
		},
		"person_publickey_array.json": func(t *testing.T, o *Object) {
			const dana = "https://mitra.example/users/dana"
			equal(t, "Type", o.Type, "Person")
			equal(t, "PreferredUsername", o.PreferredUsername, "dana")
			equal(t, "Inbox", o.Inbox, dana+"/inbox")
			equal(t, "Outbox", o.Outbox, dana+"/outbox")
			equal(t, "Followers", o.Followers, dana+"/followers")
			equal(t, "SharedInbox", o.SharedInbox, "https://mitra.example/actor/inbox")
			equal(t, "ManuallyApprovesFollowers", o.ManuallyApprovesFollowers, true)
			equal(t, "key id", o.PublicKey.ID, dana+"#main-key")
			equal(t, "key owner", o.PublicKey.Owner, dana)
			if _, err := ParsePublicKey(o.PublicKey.PEM); err != nil {
				t.Errorf("ParsePublicKey(chosen key): %v", err)
			}
		},
		"lemmy_announce_create_note.json": func(t *testing.T, o *Object) {
			equal(t, "Type", o.Type, "Announce")
			equal(t, "community", o.Actor, "https://lemmy.example/c/caregivers")
			create := embeddedObject(t, o)
			equal(t, "wrapped type", create.Type, "Create")
			equal(t, "author", create.Actor, "https://lemmy.example/u/bob")
			comment := embeddedObject(t, create)
			equal(t, "reply parent", comment.InReplyTo, "https://lemmy.example/post/8830")
			equal(t, "mentions alice", comment.Mentions(alice), true)
			equal(t, "published", comment.Published, time.Date(2024, 4, 1, 16, 20, 0, 250113000, time.UTC))
		},
		"akkoma_create_actor_object.json": func(t *testing.T, o *Object) {
			const erin = "https://akkoma.example/users/erin"
			equal(t, "actor from object", o.Actor, erin)
			equal(t, "context", o.Context, "https://akkoma.example/contexts/9d1e5f7a-3c2b-4a6d-8e0f-7b9c1d2e3f40")
			equal(t, "published without zone", o.Published, time.Date(2024, 3, 13, 7, 30, 0, 512345000, time.UTC))
			note := embeddedObject(t, o)
			equal(t, "author from array of objects", note.AttributedTo, erin)
			equal(t, "html url chosen", note.URL, "https://akkoma.example/notice/AbCdEf123")
			equal(t, "not sensitive", note.Sensitive, false)
			equal(t, "public", note.IsPublic(), false)
			equalList(t, "audiences", note.Audiences(), []string{grief})
		},
	}

	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		check, ok := tests[name]
		if !ok {
			t.Errorf("fixture %s has no expectations", name)
			continue
		}
		delete(tests, name)
		t.Run(name, func(t *testing.T) { check(t, decodeFixture(t, name)) })
	}
	for name := range tests {
		t.Errorf("fixture %s is missing", name)
	}
}

func TestDecodeKeepsRawBytes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "lemmy_announce_create_note.json"))
	if err != nil {
		t.Fatal(err)
	}
	announce, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(announce.Raw, bytes.TrimSpace(data)) {
		t.Error("Raw of the document differs from the received bytes")
	}
	create := announce.Object.Embedded
	if !bytes.Contains(data, create.Raw) || !bytes.HasPrefix(create.Raw, []byte(`{`)) {
		t.Errorf("embedded Raw is not a verbatim slice of the input: %.80s", create.Raw)
	}
	again, err := Decode(create.Raw)
	if err != nil {
		t.Fatalf("Decode(embedded Raw): %v", err)
	}
	equal(t, "re-decoded id", again.ID, create.ID)
	equal(t, "re-decoded note", again.ObjectID(), "https://lemmy.example/comment/5521")
}

func nested(depth int) string {
	return `{"type":"Note","x":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, doc, reason string
	}{
		{"empty", "  ", "empty document"},
		{"array", `[{"type":"Note"}]`, "not a JSON object"},
		{"string", `"Note"`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"truncated", `{"type":"Note"`, "malformed JSON"},
		{"trailing document", `{"type":"Note"} {"type":"Note"}`, "data after the JSON object"},
		{"trailing garbage", `{"type":"Note"}x`, "malformed JSON"},
		{"no type", `{"id":"https://a.example/1"}`, "missing type"},
		{"numeric type", `{"type":5}`, "missing type"},
		{"empty type", `{"type":""}`, "missing type"},
		{"relative id", `{"type":"Note","id":"/notes/1"}`, "id: not an absolute http(s) IRI"},
		{"ftp id", `{"type":"Note","id":"ftp://a.example/1"}`, "id: not an absolute http(s) IRI"},
		{"numeric id", `{"type":"Note","id":12}`, "id: not an absolute http(s) IRI"},
		{"empty id", `{"type":"Note","id":""}`, "id: not an absolute http(s) IRI"},
		{"id with user info", `{"type":"Note","id":"https://good.example@evil.example/1"}`, "id: not an absolute http(s) IRI"},
		{"embedded bad id", `{"type":"Undo","object":{"type":"Follow","id":"javascript:alert(1)"}}`, "object.id: not an absolute http(s) IRI"},
		{"embedded untyped bad id", `{"type":"Undo","object":{"id":"mailto:a@b"}}`, "object.id: not an absolute http(s) IRI"},
		{"embedded nothing", `{"type":"Undo","object":{"actor":"https://a.example/u"}}`, "object: embedded object has neither id nor type"},
		{"twice embedded without type", `{"type":"Announce","object":{"type":"Create","object":{"content":"x"}}}`, "object.object: embedded object has neither id nor type"},
		{"target without type", `{"type":"Add","target":{"name":"x"}}`, "target: embedded object has neither id nor type"},
		{"too deep", nested(MaxDepth + 1), "nested deeper than 16 levels"},
		{"far too deep", `{"type":"Note","x":` + strings.Repeat(`{"a":`, 100000), "nested deeper than 16 levels"},
		{"deep arrays", `{"type":"Note","x":` + strings.Repeat(`[`, 1<<20), "nested deeper than 16 levels"},
		{"deep embedded activities", strings.Repeat(`{"type":"Announce","object":`, 20) + `"https://a.example/1"` + strings.Repeat(`}`, 20), "nested deeper than 16 levels"},
		{"duplicate key", `{"type":"Note","actor":"https://a.example/u","actor":"https://b.example/u"}`, `duplicate key "actor"`},
		{"duplicate escaped key", `{"type":"Note","typ\u0065":"Create"}`, `duplicate key "type"`},
		{"duplicate nested key", `{"type":"Create","object":{"type":"Note","id":"https://a.example/1","id":"https://b.example/1"}}`, `duplicate key "id"`},
		{"duplicate key in array object", `{"type":"Note","tag":[{"href":"https://a.example/","href":"https://b.example/"}]}`, `duplicate key "href"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Decode([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Decode(%.60s) = %+v, want error", tt.doc, o)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode(%.60s) error %v does not wrap ErrInvalid", tt.doc, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Decode(%.60s) error %q, want it to say %q", tt.doc, err, tt.reason)
			}
		})
	}
}

func TestDecodeAcceptsMaxDepth(t *testing.T) {
	if _, err := Decode([]byte(nested(MaxDepth))); err != nil {
		t.Fatalf("Decode(depth %d): %v", MaxDepth, err)
	}
}

func mustDecode(t *testing.T, doc string) *Object {
	t.Helper()
	o, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("Decode(%.80s): %v", doc, err)
	}
	return o
}

func TestDecodeTypeArray(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"type":["Note","Other"]}`, "Note"},
		{`{"type":["Other","Note"]}`, "Note"},
		{`{"type":["Other","Thing"]}`, "Other"},
		{`{"type":[5,"Page"]}`, "Page"},
		{`{"type":"as:Note"}`, "Note"},
		{`{"type":"https://www.w3.org/ns/activitystreams#Create"}`, "Create"},
	}
	for _, tt := range tests {
		equal(t, "Type of "+tt.doc, mustDecode(t, tt.doc).Type, tt.want)
	}
}

func TestDecodeIgnoresWrongShapes(t *testing.T) {
	o := mustDecode(t, `{
		"type": "Note",
		"actor": 42,
		"attributedTo": [7, {"name": "no id"}, "https://a.example/u"],
		"content": 5,
		"summary": ["cw"],
		"name": {"nested": true},
		"to": [1, null, true, "https://a.example/u", {"id": 3}, {"id": "https://b.example/u"}],
		"cc": 3.5,
		"sensitive": "yes",
		"published": 1700000000,
		"updated": "yesterday",
		"inReplyTo": false,
		"url": [{"mediaType": "text/html"}, 9],
		"tag": ["https://a.example/tags/x", 4, {"type": "Mention", "href": 5, "name": 6}],
		"attachment": {"type": "Image", "url": "https://a.example/i.png", "width": "big", "height": -4},
		"object": [3, "https://a.example/o"],
		"publicKey": "https://a.example/u#main-key",
		"endpoints": "https://a.example/inbox",
		"manuallyApprovesFollowers": "true"
	}`)
	equal(t, "Actor", o.Actor, "")
	equal(t, "AttributedTo", o.AttributedTo, "https://a.example/u")
	equal(t, "Content", o.Content, "")
	equal(t, "Summary", o.Summary, "")
	equal(t, "Name", o.Name, "")
	equalList(t, "To", o.To, []string{"https://a.example/u", "https://b.example/u"})
	equalList(t, "CC", o.CC, nil)
	equal(t, "Sensitive", o.Sensitive, false)
	equal(t, "Published", o.Published.IsZero(), true)
	equal(t, "Updated", o.Updated.IsZero(), true)
	equal(t, "InReplyTo", o.InReplyTo, "")
	equal(t, "URL", o.URL, "")
	equal(t, "tags kept", len(o.Tag), 1)
	equal(t, "mention without href", o.Tag[0], Tag{Type: "Mention"})
	equal(t, "attachment", o.Attachment[0], Attachment{Type: "Image", URL: "https://a.example/i.png"})
	equal(t, "object", o.ObjectID(), "https://a.example/o")
	equal(t, "PublicKey", o.PublicKey, PublicKey{})
	equal(t, "SharedInbox", o.SharedInbox, "")
	equal(t, "ManuallyApprovesFollowers", o.ManuallyApprovesFollowers, false)
}

func TestDecodeTimestamps(t *testing.T) {
	want := time.Date(2024, 3, 9, 18, 22, 41, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-03-09T18:22:41Z", want},
		{"2024-03-09T18:22:41.000Z", want},
		{"2024-03-09T18:22:41.123456Z", want.Add(123456 * time.Microsecond)},
		{"2024-03-09T19:22:41+01:00", want},
		{"2024-03-09T19:22:41.5+01:00", want.Add(500 * time.Millisecond)},
		{"2024-03-09T13:22:41-0500", want},
		{"2024-03-09T18:22:41", want},
		{"2024-03-09t18:22:41z", want},
		{" 2024-03-09T18:22:41Z ", want},
		{"2024-03-09", time.Time{}},
		{"Sat, 09 Mar 2024 18:22:41 GMT", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		o := mustDecode(t, `{"type":"Note","published":"`+tt.in+`"}`)
		if !o.Published.Equal(tt.want) {
			t.Errorf("published %q = %v, want %v", tt.in, o.Published, tt.want)
		}
	}
}

func TestDecodeContentFallsBackToContentMap(t *testing.T) {
	o := mustDecode(t, `{"type":"Note","contentMap":{"de":"<p>Hallo</p>","en":"<p>Hello</p>"},
		"nameMap":{"fr":"Bonjour"},"summaryMap":{"und":"cw"}}`)
	equal(t, "Content", o.Content, "<p>Hallo</p>")
	equal(t, "Name", o.Name, "Bonjour")
	equal(t, "Summary", o.Summary, "cw")
}

func TestDecodeActorShapes(t *testing.T) {
	tests := []struct{ actor, want string }{
		{`"https://a.example/u"`, "https://a.example/u"},
		{`{"type":"Person","id":"https://a.example/u"}`, "https://a.example/u"},
		{`["https://a.example/u","https://b.example/u"]`, "https://a.example/u"},
		{`[{"type":"Person","id":"https://a.example/u"},{"type":"Group","id":"https://a.example/g"}]`, "https://a.example/u"},
	}
	for _, tt := range tests {
		o := mustDecode(t, `{"type":"Like","actor":`+tt.actor+`,"object":"https://b.example/n"}`)
		equal(t, "Actor of "+tt.actor, o.Actor, tt.want)
	}
}

func TestDecodeObjectArrayOfEmbeddedObjects(t *testing.T) {
	o := mustDecode(t, `{"type":"Flag","actor":"https://m.example/actor","object":[
		{"type":"Person","id":"https://s.example/u"},
		{"type":"Note","id":"https://s.example/n/1"},
		"https://s.example/n/2"]}`)
	equal(t, "first is embedded", o.Object.Embedded.Type, "Person")
	equalList(t, "Objects", o.Objects, []string{"https://s.example/u", "https://s.example/n/1", "https://s.example/n/2"})
}

func TestDecodePublicKeyChoice(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, err := EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemJSON, err := json.Marshal(rsaPEM)
	if err != nil {
		t.Fatal(err)
	}
	const ed25519PEM = `"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"`
	tests := []struct {
		name, keys, wantID string
	}{
		{"single object", `{"id":"https://a.example/u#k","owner":"https://a.example/u","publicKeyPem":"x"}`, "https://a.example/u#k"},
		{"main key wins", `[{"id":"https://a.example/u#rsa","publicKeyPem":` + string(pemJSON) + `},{"id":"https://a.example/u#main-key","publicKeyPem":"y"}]`, "https://a.example/u#main-key"},
		{"first RSA key", `[{"id":"https://a.example/u#ed","publicKeyPem":` + ed25519PEM + `},{"id":"https://a.example/u#rsa","publicKeyPem":` + string(pemJSON) + `}]`, "https://a.example/u#rsa"},
		{"first when none parses", `[{"id":"https://a.example/u#one"},{"id":"https://a.example/u#two"}]`, "https://a.example/u#one"},
	}
	for _, tt := range tests {
		o := mustDecode(t, `{"type":"Person","id":"https://a.example/u","publicKey":`+tt.keys+`}`)
		equal(t, tt.name, o.PublicKey.ID, tt.wantID)
	}
}

func TestDecodeHostileStrings(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	o := mustDecode(t, `{"type":"Note","content":"`+huge+`","name":"`+huge+`"}`)
	equal(t, "1 MiB content kept", len(o.Content), 1<<20)

	o = mustDecode(t, "{\"type\":\"Note\",\"content\":\"bad \xff\xfe bytes\"}")
	equal(t, "invalid UTF-8 replaced", o.Content, "bad \ufffd\ufffd bytes")

	o = mustDecode(t, `{"type":"Note","content":"nul \u0000 and \ud800 lone surrogate"}`)
	equal(t, "escapes decoded", o.Content, "nul \x00 and \ufffd lone surrogate")

	o = mustDecode(t, `{"type":"Note","width":1e999,"attachment":[{"width":1e999,"height":99999999999999999999}]}`)
	equal(t, "absurd numbers ignored", o.Attachment[0], Attachment{})
}

func TestDecodeToleratesExtensions(t *testing.T) {
	o := decodeFixture(t, "mastodon_create_note_mention.json")
	equal(t, "signature member ignored", o.Type, "Create")
	o = mustDecode(t, `{"@context":["https://www.w3.org/ns/activitystreams",{"a":{"@id":"b","@type":"@id"}},[{"c":"d"}]],
		"type":"Follow","actor":"https://a.example/u","object":"https://b.example/g",
		"proof":{"type":"DataIntegrityProof","cryptosuite":"eddsa-jcs-2022","proofValue":"z3"}}`)
	equal(t, "proof member ignored", o.ObjectID(), "https://b.example/g")
}

func TestAudiences(t *testing.T) {
	o := &Object{
		To:       []string{"https://a.example/u", Public},
		CC:       []string{"https://a.example/u/followers", "https://a.example/u"},
		BCC:      []string{"https://b.example/g"},
		Audience: []string{"https://b.example/g"},
	}
	equalList(t, "Audiences", o.Audiences(), []string{"https://a.example/u", Public, "https://a.example/u/followers", "https://b.example/g"})
	equal(t, "Addresses bcc", o.Addresses("https://b.example/g"), true)
	equal(t, "Addresses stranger", o.Addresses("https://c.example/u"), false)
}

func TestIsPublic(t *testing.T) {
	tests := []struct {
		obj  Object
		want bool
	}{
		{Object{To: []string{Public}}, true},
		{Object{CC: []string{"as:Public"}}, true},
		{Object{Audience: []string{"Public"}}, true},
		{Object{To: []string{"https://a.example/u/followers"}}, false},
		{Object{To: []string{"https://www.w3.org/ns/activitystreams#Publicity"}}, false},
		{Object{}, false},
	}
	for _, tt := range tests {
		equal(t, "IsPublic", tt.obj.IsPublic(), tt.want)
	}
}

func TestMentions(t *testing.T) {
	o := &Object{Tag: []Tag{
		{Type: "Hashtag", Href: "https://b.example/g", Name: "#g"},
		{Type: "Mention", Href: "https://a.example/g", Name: "@g@a.example:8443"},
	}}
	equal(t, "mentioned", o.Mentions("https://a.example/g"), true)
	equal(t, "hashtag is not a mention", o.Mentions("https://b.example/g"), false)
}

func TestHost(t *testing.T) {
	tests := []struct{ iri, want string }{
		{"https://Mastodon.Example/users/alice", "mastodon.example"},
		{"HTTPS://mastodon.example/users/alice", "mastodon.example"},
		{"https://mastodon.example:443/users/alice", "mastodon.example"},
		{"http://mastodon.example:80/", "mastodon.example"},
		{"https://mastodon.example:8443/users/alice", "mastodon.example:8443"},
		{"http://localhost:3000/u", "localhost:3000"},
		{"https://[2001:DB8::1]:8443/u", "[2001:db8::1]:8443"},
		{"https://[2001:db8::1]/u", "[2001:db8::1]"},
		{"https://mastodon.example/users/alice#main-key", "mastodon.example"},
		{"https://mastodon.example./users/alice", "mastodon.example"},
		{"https://MASTODON.Example.:443/users/alice", "mastodon.example"},
		{"https://mastodon.example.:8443/u", "mastodon.example:8443"},
		{"https://bücher.example/u", "xn--bcher-kva.example"},
		{"https://BÜCHER.example./u", "xn--bcher-kva.example"},
		{"https://XN--BCHER-KVA.example/u", "xn--bcher-kva.example"},
		{"https://b%C3%BCcher.example/u", "xn--bcher-kva.example"},
		{"https://mastodon。example/u", "mastodon.example"},
	}
	for _, tt := range tests {
		got, err := Host(tt.iri)
		if err != nil || got != tt.want {
			t.Errorf("Host(%q) = %q, %v; want %q", tt.iri, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "/users/alice", "mastodon.example", "ftp://a.example/", "https://", "https:///path",
		"acct:alice@a.example", "https://alice@a.example/", "http:a.example", "https://a.example:port/", "https://a b.example/",
		"https://./", "https://a..example/", "https://a.example../", "https://.a.example/", "https://a!b.example/",
		"https://xn--zz.example/", "https://[fe80::1%25eth0]/"} {
		if got, err := Host(bad); !errors.Is(err, ErrNotHTTPIRI) {
			t.Errorf("Host(%q) = %q, %v; want ErrNotHTTPIRI", bad, got, err)
		}
	}
}

func TestCanonicalHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Spam.Example.", "spam.example"},
		{"spam.example:8443", "spam.example:8443"},
		{"SPAM.example.:8443", "spam.example:8443"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"[2001:DB8::1]:8443", "[2001:db8::1]:8443"},
		{"2001:db8::1", "[2001:db8::1]"},
	} {
		if got, err := CanonicalHost(tt.in); err != nil || got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "a..example", "spam.example:", "spam.example:http", "spam.example:99999", "a b.example", "a/b.example", "a*b.example"} {
		if got, err := CanonicalHost(bad); !errors.Is(err, ErrInvalidHost) {
			t.Errorf("CanonicalHost(%q) = %q, %v; want ErrInvalidHost", bad, got, err)
		}
	}
}
