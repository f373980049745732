package activitypub

import "encoding/json"

// Envelope is what a receiver reads of an activity before its signature is
// checked: enough to know who claims to send it, and no more, since
// decoding a document in full costs far more than refusing it.
type Envelope struct {
	ID, Type, Actor string
	// ObjectID is the id of the activity's object, given as an IRI or
	// embedded.
	ObjectID string
}

// ReadEnvelope reads an activity's id, type, actor and object id as Decode
// would, and skips everything else. It does not check the document as
// Decode does: a receiver decodes it once the signature verifies, and
// should refuse it if the two readings differ.
func ReadEnvelope(data []byte) (Envelope, error) {
	var top struct {
		ID     json.RawMessage `json:"id"`
		Type   json.RawMessage `json:"type"`
		Actor  json.RawMessage `json:"actor"`
		Object objectID        `json:"object"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return Envelope{}, invalid("", "malformed JSON: "+err.Error())
	}
	return Envelope{ID: str(top.ID), Type: typeOf(top.Type), Actor: firstIRI(top.Actor), ObjectID: string(top.Object)}, nil
}

// objectID reads the id of a reference without copying an embedded object,
// which can be most of an activity.
type objectID string

func (o *objectID) UnmarshalJSON(raw []byte) error {
	var first json.RawMessage
	switch kind(raw) {
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			return err
		}
		first = list[0]
	default:
		first = raw
	}
	switch kind(first) {
	case '"':
		*o = objectID(str(first))
	case '{':
		var embedded struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(first, &embedded); err != nil {
			return err
		}
		*o = objectID(str(embedded.ID))
	}
	return nil
}
