package activitypub

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestBase58(t *testing.T) {
	t.Parallel()
	// The examples of the base58 Internet-Draft.
	for _, tc := range []struct {
		data    []byte
		encoded string
	}{
		{[]byte("Hello World!"), "2NEpo7TZRRrLZSi2U"},
		{[]byte{0, 0, 0x28, 0x7f, 0xb4, 0xcd}, "11233QC4"},
		{nil, ""},
	} {
		if got := encodeBase58(tc.data); got != tc.encoded {
			t.Errorf("encode %x: %q, want %q", tc.data, got, tc.encoded)
		}
		if got, err := decodeBase58(tc.encoded); err != nil || !bytes.Equal(got, tc.data) {
			t.Errorf("decode %q: %x, %v, want %x", tc.encoded, got, err, tc.data)
		}
	}
	if _, err := decodeBase58("2NEpo0"); err == nil {
		t.Error("decoded a 0, which base58 leaves out")
	}
}

func TestDecodeMultikey(t *testing.T) {
	t.Parallel()
	// The public key of RFC 8032's first Ed25519 test vector.
	want, _ := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	const multibase = "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	key, err := DecodeMultikey(multibase)
	if err != nil || !bytes.Equal(key, want) {
		t.Fatalf("DecodeMultikey: %x, %v, want %x", key, err, want)
	}
	if got := EncodeMultikey(ed25519.PublicKey(want)); got != multibase {
		t.Errorf("EncodeMultikey: %q, want %q", got, multibase)
	}
	for name, text := range map[string]string{
		"no multibase prefix":  multibase[1:],
		"base64url multibase":  "u7QHXWpgBgrEKt9VL_tPJZAc6DuFy89qmIyWvAhpo9wdRGg",
		"one byte short":       "z" + encodeBase58(append([]byte{0xed, 0x01}, want[1:]...)),
		"secp256k1-pub prefix": "z" + encodeBase58(append([]byte{0xe7, 0x01}, want...)),
		"not base58":           "z6Mk0OIl",
		"far too long":         "z" + strings.Repeat("2", 10000),
	} {
		if key, err := DecodeMultikey(text); err == nil {
			t.Errorf("%s: decoded as %x", name, key)
		}
	}
}

func TestDecodeReadsEd25519Multikeys(t *testing.T) {
	t.Parallel()
	const actor = `{"id": "https://example.test/users/a", "type": "Person", "inbox": "https://example.test/users/a/inbox", "assertionMethod": %s}`
	const key = `{"id": "https://example.test/users/a#ed", "type": "Multikey", "controller": "https://example.test/users/a",
		"publicKeyMultibase": "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}`
	// Another codec: rsa-pub, 0x1205 as a varint.
	rsaMultikey := `{"id": "https://example.test/users/a#rsa", "type": "Multikey", "controller": "https://example.test/users/a",
		"publicKeyMultibase": "z` + encodeBase58(append([]byte{0x85, 0x24}, make([]byte, 40)...)) + `"}`
	for name, tc := range map[string]struct {
		assertionMethod string
		want            []string
	}{
		"one object":              {key, []string{"https://example.test/users/a#ed"}},
		"an array":                {"[" + rsaMultikey + ", " + key + "]", []string{"https://example.test/users/a#ed"}},
		"a reference":             {`"https://example.test/users/a#ed"`, nil},
		"another type":            {strings.Replace(key, "Multikey", "JsonWebKey", 1), nil},
		"an undecodable multikey": {strings.Replace(key, "z6Mk", "z6MK", 1), nil},
	} {
		obj, err := Decode([]byte(fmt.Sprintf(actor, tc.assertionMethod)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ids []string
		for _, k := range obj.Multikeys {
			if k.Controller != "https://example.test/users/a" || len(k.Key) != ed25519.PublicKeySize {
				t.Errorf("%s: %+v", name, k)
			}
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: Multikeys %v, want %v", name, ids, tc.want)
		}
	}
}
