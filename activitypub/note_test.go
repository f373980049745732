package activitypub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCreateOfAGroupNote(t *testing.T) {
	note := NewNote("https://h.example/g/circle/notes/1", "https://h.example/g/circle", time.Unix(0, 0))
	note.To = []string{"https://h.example/g/circle/followers"}
	note.SetWarning("grief")
	note.Content = "<p>hello</p>"
	body, err := Marshal(NewCreate("https://h.example/g/circle/activities/1", note))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	object := doc["object"].(map[string]any)
	if _, ok := object["@context"]; ok {
		t.Errorf("the embedded note repeats @context: %s", body)
	}
	if doc["actor"] != note.AttributedTo || object["summary"] != "grief" || object["sensitive"] != true {
		t.Errorf("create %s", body)
	}
	if doc["cc"] != nil || object["cc"] != nil {
		t.Errorf("a followers-only note gained a cc: %s", body)
	}
	if note.Context == nil || note.Standalone().Context == nil {
		t.Error("the note lost its own @context")
	}
}

func TestMentionLinkEscapes(t *testing.T) {
	got := MentionLink(`https://a.example/u/"x"`, "@<b>x</b>@a.example")
	if strings.Contains(got, "<b>") || strings.Contains(got, `"x"`) {
		t.Errorf("MentionLink did not escape: %s", got)
	}
}

func TestAttachmentsByReferenceKeepOnlyMedia(t *testing.T) {
	got := AttachmentsByReference([]Attachment{
		{URL: "https://a.example/media/1.jpg", MediaType: "image/jpeg"},
		{Type: "Image", URL: "javascript:alert(1)"},
		{Type: "PropertyValue", Name: "pronouns"},
	})
	if len(got) != 1 || got[0].Type != "Document" || got[0].URL != "https://a.example/media/1.jpg" {
		t.Errorf("attachments %+v", got)
	}
}
