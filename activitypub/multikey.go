package activitypub

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
)

// Multikey is an Ed25519 key an actor publishes in its assertionMethod, as
// FEP-521a describes: other key types are not kept.
type Multikey struct {
	ID, Controller string
	Key            ed25519.PublicKey
}

// ed25519Codec is the multicodec code of ed25519-pub, 0xed, as an unsigned
// varint: the prefix of the key bytes in publicKeyMultibase.
var ed25519Codec = []byte{0xed, 0x01}

// base58Alphabet is Bitcoin's, the alphabet of multibase's base58btc.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// maxMultibase bounds what is decoded: an Ed25519 key is 48 characters,
// and base58 decoding costs the square of the length.
const maxMultibase = 100

// DecodeMultikey reads the publicKeyMultibase of an Ed25519 Multikey:
// "z", then base58btc of the ed25519-pub multicodec prefix and the 32 key
// bytes.
func DecodeMultikey(text string) (ed25519.PublicKey, error) {
	encoded, ok := strings.CutPrefix(text, "z")
	if !ok {
		return nil, errors.New("multikey: not base58btc multibase")
	}
	if len(encoded) > maxMultibase {
		return nil, errors.New("multikey: too long for an Ed25519 key")
	}
	raw, err := decodeBase58(encoded)
	if err != nil {
		return nil, err
	}
	key, ok := strings.CutPrefix(string(raw), string(ed25519Codec))
	if !ok {
		return nil, errors.New("multikey: not an ed25519-pub key")
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("multikey: Ed25519 key of %d bytes", len(key))
	}
	return ed25519.PublicKey(key), nil
}

// EncodeMultikey writes key as the publicKeyMultibase of a Multikey.
func EncodeMultikey(key ed25519.PublicKey) string {
	return "z" + encodeBase58(append(append([]byte(nil), ed25519Codec...), key...))
}

// decodeBase58 reads base58btc: a big-endian number in base 58, each
// leading '1' standing for a leading zero byte.
func decodeBase58(text string) ([]byte, error) {
	zeros := len(text) - len(strings.TrimLeft(text, "1"))
	var number []byte // big-endian, without leading zeros
	for i := zeros; i < len(text); i++ {
		digit := strings.IndexByte(base58Alphabet, text[i])
		if digit < 0 {
			return nil, fmt.Errorf("multikey: %q is not a base58 digit", text[i])
		}
		carry := digit
		for j := len(number) - 1; j >= 0; j-- {
			carry += int(number[j]) * 58
			number[j] = byte(carry)
			carry >>= 8
		}
		for ; carry > 0; carry >>= 8 {
			number = append([]byte{byte(carry)}, number...)
		}
	}
	return append(make([]byte, zeros), number...), nil
}

func encodeBase58(data []byte) string {
	zeros := 0
	for zeros < len(data) && data[zeros] == 0 {
		zeros++
	}
	var digits []byte // little-endian base 58
	for _, b := range data[zeros:] {
		carry := int(b)
		for j := range digits {
			carry += int(digits[j]) << 8
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		for ; carry > 0; carry /= 58 {
			digits = append(digits, byte(carry%58))
		}
	}
	var out strings.Builder
	out.WriteString(strings.Repeat("1", zeros))
	for i := len(digits) - 1; i >= 0; i-- {
		out.WriteByte(base58Alphabet[digits[i]])
	}
	return out.String()
}
