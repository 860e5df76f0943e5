// Package secret makes and checks the API keys tocsin hands out (integration keys, /api keys): 256
// random bits, shown once, stored only as a SHA-256 hash. A fast hash is enough because the keys are
// random, not chosen by people, so a stolen table of hashes cannot be guessed back.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// New returns a new key (prefix followed by 64 hex digits) and its hash.
func New(prefix string) (key, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random bytes: %w", err)
	}
	key = prefix + hex.EncodeToString(b[:])
	return key, Hash(key), nil
}

// Hash returns the stored form of a key.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Matches reports, in constant time, whether key hashes to stored.
func Matches(stored, key string) bool {
	return subtle.ConstantTimeCompare([]byte(stored), []byte(Hash(key))) == 1
}
