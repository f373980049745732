package activitypub

import (
	"bytes"
	"encoding/json"
)

// WithoutForeignObjects returns a received activity as it may be passed on
// under another actor's signature: every object embedded in it whose id is
// on a server other than the one that signed it (origin, the signer's actor
// id) is reduced to its id. The signer can vouch only for its own server's
// objects; a copy of anyone else's, a forged parent or a forged liked note,
// would otherwise reach the members as if the group had checked it. When
// nothing needs reducing the activity is returned byte for byte, so that
// what was signed stays exactly as received.
func WithoutForeignObjects(raw []byte, origin string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	changed := false
	for key, value := range doc {
		if reduced, ok := reduceForeign(value, origin); ok {
			doc[key], changed = reduced, true
		}
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(doc)
}

// reduceForeign returns v with every embedded object from another server
// than origin's reduced to its id, and whether anything was.
func reduceForeign(v any, origin string) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		if id, ok := v["id"].(string); ok && !SameOrigin(id, origin) {
			return id, true
		}
		changed := false
		for key, inner := range v {
			if reduced, ok := reduceForeign(inner, origin); ok {
				v[key], changed = reduced, true
			}
		}
		return v, changed
	case []any:
		changed := false
		for i, inner := range v {
			if reduced, ok := reduceForeign(inner, origin); ok {
				v[i], changed = reduced, true
			}
		}
		return v, changed
	}
	return v, false
}
