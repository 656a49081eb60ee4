package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBoxRoundTripAndTamper(t *testing.T) {
	t.Parallel()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"", "Secret", "pässwörd with spaces"} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Fatalf("sealed form %q contains the plaintext", sealed)
		}
		got, err := b.Open(sealed)
		if err != nil || got != plain {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
		tampered := sealed[:len(sealed)-2] + "AA"
		if _, err := b.Open(tampered); err == nil && plain != "" {
			t.Fatalf("tampered value opened without error")
		}
	}
	other, _ := NewBox(make([]byte, 32))
	s, _ := b.Seal("x")
	if _, err := other.Open(s); err == nil {
		t.Fatal("a value sealed with one key opened with another")
	}
}

func TestLoadOrCreateKeyIsStableAndPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(k1) != string(k2) {
		t.Fatal("key changed between loads")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("nothex"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}

func TestTokensAndPasswords(t *testing.T) {
	t.Parallel()
	a, b := Token(), Token()
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	p := Password(24)
	if len(p) != 24 || strings.ContainsAny(p, "'\"\\ $") {
		t.Fatalf("password %q", p)
	}
}
