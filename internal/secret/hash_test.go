package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestHasherIsKeyed(t *testing.T) {
	t.Parallel()
	k1, k2 := make([]byte, 32), make([]byte, 32)
	k2[0] = 1
	h1, err := NewHasher(k1)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := NewHasher(k2)
	const tok = "operator-chosen-token"
	bare := sha256.Sum256([]byte(tok))
	got := h1.Hash(tok)
	if len(got) != 64 || got != h1.Hash(tok) {
		t.Fatalf("Hash = %q (not 64 hex characters, or not the same twice)", got)
	}
	if got == hex.EncodeToString(bare[:]) {
		t.Error("the keyed hash is the bare SHA-256 of the token")
	}
	if got == h2.Hash(tok) {
		t.Error("two keys give the same hash")
	}
	if a, b := Token(), Token(); h1.Hash(a) == h1.Hash(b) {
		t.Error("two tokens give the same hash")
	}
	if LegacyHash(tok) != LegacyPrefix+hex.EncodeToString(bare[:]) || !IsLegacyHash(LegacyHash(tok)) || IsLegacyHash(got) {
		t.Error("legacy hashes are not told from keyed ones")
	}
	if _, err := NewHasher(make([]byte, 16)); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestRestrict(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "f")
	if _, changed, err := Restrict(f, 0o600); err != nil || changed {
		t.Fatalf("missing file: changed %v, %v", changed, err)
	}
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old, changed, err := Restrict(f, 0o600)
	if err != nil || !changed || old != 0o644 {
		t.Fatalf("Restrict = %o %v %v", old, changed, err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	if _, changed, _ := Restrict(f, 0o600); changed {
		t.Error("changed a file that had the mode already")
	}
}
