package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbaasd/dbaasd/internal/store"
)

// TestSQLiteFilesAreOwnerOnly: the store file and its companions are
// created 0600, and a store whose files an earlier dbaasd left readable by
// others is fixed when it is opened.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "dbaasd.db")
	check := func(when string) {
		t.Helper()
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %#o, want 0600", when, filepath.Base(f), fi.Mode().Perm())
			}
		}
	}
	s := openWith(t, "", dir)()
	if err := s.Projects().Insert(context.Background(), project()); err != nil {
		t.Fatal(err)
	}
	check("new store")

	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := store.Open(context.Background(), "", dir, box(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = again.Close() }()
	check("reopened store")
}
