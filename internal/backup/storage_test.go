package backup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l := Local{Dir: filepath.Join(dir, "store")}
	src := filepath.Join(dir, "file")
	if err := os.WriteFile(src, []byte("backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, "ds/base/1/file", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Put left the local file: %v", err)
	}
	r, err := l.Open(ctx, "ds/base/1/file")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	_ = r.Close()
	if string(b) != "backup" {
		t.Errorf("read back %q", b)
	}
	// A file already in place is its own object.
	inPlace := l.LocalPath("ds/wal/seg")
	_ = os.MkdirAll(filepath.Dir(inPlace), 0o755)
	_ = os.WriteFile(inPlace, []byte("wal"), 0o600)
	if err := l.Put(ctx, "ds/wal/seg", inPlace); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(inPlace); string(b) != "wal" {
		t.Errorf("in-place object: %q", b)
	}
	if got := l.LocalPath("ds/base/1"); got != filepath.Join(l.Dir, "ds", "base", "1") {
		t.Errorf("LocalPath = %s", got)
	}
	if err := l.DeletePrefix(ctx, "ds/base"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(ctx, "ds/base/1/file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after DeletePrefix: %v", err)
	}
	if err := l.DeletePrefix(ctx, "ds/base"); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a/../../x"} {
		if err := l.Put(ctx, bad, inPlace); err == nil {
			t.Errorf("key %q accepted", bad)
		}
		if l.LocalPath(bad) != "" {
			t.Errorf("key %q has a local path", bad)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	size, sum, err := checksum(p)
	if err != nil || size != 5 || sum != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("checksum = %d %s %v", size, sum, err)
	}
	if err := verify("backup x", p, size, sum); err != nil {
		t.Errorf("verify of an intact file: %v", err)
	}
	err = verify("backup x", p, size, strings.Repeat("0", 64))
	var d *errDamaged
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "backup x is damaged") {
		t.Errorf("verify of a changed file: %v", err)
	}
}
