package activitypub

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// KeyBits is the size of every RSA key Hearth generates. Mastodon verifies
// RSA signatures only, and 2048 bits is what it and its peers use.
const KeyBits = 2048

// GenerateKey makes a new RSA key for a group or the instance actor.
func GenerateKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, KeyBits)
}

// EncodeKeyPair returns both halves of key as they are stored: the private
// key as PKCS#8 PEM, and the public key as the SPKI PEM actors publish.
func EncodeKeyPair(key *rsa.PrivateKey) (privatePEM, publicPEM string, err error) {
	if privatePEM, err = encodePrivateKey(key); err != nil {
		return "", "", err
	}
	if publicPEM, err = EncodePublicKey(&key.PublicKey); err != nil {
		return "", "", err
	}
	return privatePEM, publicPEM, nil
}

func encodePrivateKey(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// EncodePublicKey returns a public key as SPKI PEM, the form actors publish
// RSA keys in and the cache keeps every key in.
func EncodePublicKey(key crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePrivateKey reads a PKCS#8 or PKCS#1 RSA private key in PEM.
func ParsePrivateKey(text string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T is not RSA", parsed)
	}
	return key, nil
}

// ParsePublicKey reads an RSA public key in PEM, SPKI or PKCS#1, as remote
// servers publish either.
func ParsePublicKey(text string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if key, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	key, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T is not RSA", parsed)
	}
	return key, nil
}

// ParseVerificationKey reads a key an actor signs with, as the cache keeps
// it: an RSA key (see ParsePublicKey) or an Ed25519 key in SPKI PEM.
func ParseVerificationKey(text string) (crypto.PublicKey, error) {
	if key, err := ParsePublicKey(text); err == nil {
		return key, nil
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	key, ok := parsed.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T is neither RSA nor Ed25519", parsed)
	}
	return key, nil
}
