package activitypub

import (
	"mime"
	"strings"
)

// ContentType is the media type Hearth sends and serves activity documents as.
const ContentType = "application/activity+json"

// LDContentType is the JSON-LD form peers may ask for instead.
const LDContentType = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// IsActivityPubMediaType reports whether a Content-Type or one entry of an
// Accept header names an ActivityPub document.
func IsActivityPubMediaType(value string) bool {
	mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(value))
	if err != nil {
		return false
	}
	switch mediaType {
	case "application/activity+json":
		return true
	case "application/ld+json":
		profile := params["profile"]
		return profile == "" || strings.Contains(profile, "https://www.w3.org/ns/activitystreams")
	}
	return false
}

// AcceptsActivityPub reports whether an Accept header asks for an ActivityPub
// document rather than a web page.
func AcceptsActivityPub(accept string) bool {
	for _, part := range splitAccept(accept) {
		if IsActivityPubMediaType(part) {
			return true
		}
	}
	return false
}

// splitAccept splits an Accept header on the commas between media ranges,
// leaving commas inside quoted parameters alone.
func splitAccept(header string) []string {
	var parts []string
	quoted := false
	start := 0
	for i, r := range header {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			parts = append(parts, header[start:i])
			start = i + 1
		}
	}
	return append(parts, header[start:])
}
