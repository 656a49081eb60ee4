package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// hashInfo labels the key derived for token hashes, so that it is
// independent of the encryption key it is derived from.
const hashInfo = "dbaasd token hash v1"

// LegacyPrefix marks a hash stored by dbaasd before tokens were hashed
// with a key: a bare SHA-256. Migration 00006 prefixed every such hash, so
// that it is never taken for a keyed one; dbaasd upgrades each to a keyed
// hash the first time its token is presented.
const LegacyPrefix = "sha256:"

// Hasher computes the keyed hashes dbaasd stores instead of tokens:
// hex HMAC-SHA256 under a key derived from the secret key file. A copy of
// the store without the key file does not let anyone test guessed tokens
// offline, which a bare hash of an operator-chosen token would.
type Hasher struct {
	pool sync.Pool // of hash.Hash (HMAC under the derived key)
}

// NewHasher derives the hash key from dbaasd's secret key (HKDF-SHA256).
func NewHasher(secretKey []byte) (*Hasher, error) {
	if len(secretKey) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(secretKey))
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, hashInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive hash key: %w", err)
	}
	h := &Hasher{}
	h.pool.New = func() any { return hmac.New(sha256.New, key) }
	return h, nil
}

// Hash returns the keyed hash of a token (64 hex characters).
func (h *Hasher) Hash(token string) string {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	_, _ = m.Write([]byte(token))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0]))
	h.pool.Put(m)
	return out
}

// LegacyHash returns the form in which dbaasd stored a token before its
// hashes were keyed (LegacyPrefix + hex SHA-256), to find and upgrade such
// a record when its token is presented.
func LegacyHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return LegacyPrefix + hex.EncodeToString(sum[:])
}

// IsLegacyHash reports whether a stored hash is in the old, unkeyed form.
func IsLegacyHash(h string) bool { return strings.HasPrefix(h, LegacyPrefix) }
