package backup

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDatastoreDir checks that a datastore's backup directory is made,
// or repaired, with the mode that lets its OS account reach its archive.
func TestDatastoreDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		before  func(path string) error
		wantErr bool
	}{
		{"new", func(string) error { return nil }, false},
		{"made stricter by a MkdirAll on the way", func(p string) error { return os.Mkdir(p, 0o700) }, false},
		{"made looser", func(p string) error { return os.Mkdir(p, 0o755) }, false},
		{"a file in its place", func(p string) error { return os.WriteFile(p, nil, 0o600) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			m := &Manager{opts: Options{Root: root}}
			if err := tc.before(filepath.Join(root, "ds")); err != nil {
				t.Fatal(err)
			}
			dir, err := m.datastoreDir("ds")
			if tc.wantErr {
				if err == nil {
					t.Fatalf("datastoreDir = %s, want an error", dir)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != 0o711 {
				t.Errorf("mode %v, want 0711", got)
			}
		})
	}
}
