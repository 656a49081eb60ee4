package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dbaasd/dbaasd/internal/layout"
)

// DefaultRunDir is where datastores' runtime directories go by default:
// /run/dbaasd for root, else dbaasd under $XDG_RUNTIME_DIR, else
// /tmp/dbaasd-<uid>. It is short, so that socket paths fit whatever the
// data dir is.
func DefaultRunDir() string {
	if os.Geteuid() == 0 {
		return "/run/dbaasd"
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "dbaasd")
	}
	return fmt.Sprintf("/tmp/dbaasd-%d", os.Geteuid())
}

// prepareDataDir creates the data dir, or fixes the modes of an existing
// one: 0711 (datastores' OS accounts pass through it to their own
// directories; nobody but dbaasd lists or reads it), and the same for the
// parents of the datastores' directories.
func prepareDataDir(dataDir string) error {
	for _, dir := range []string{dataDir, filepath.Join(dataDir, "clusters"), filepath.Join(dataDir, "backups")} {
		if err := ownDir(dir, 0o711); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	return nil
}

// prepareRunDir resolves the runtime directory (dir, or DefaultRunDir),
// creates it 0711 owned by dbaasd's user, refuses one that is a link or
// another user's, and checks that the longest socket path dbaasd will
// build in it fits in a Unix socket address.
func prepareRunDir(dir string) (string, error) {
	if dir == "" {
		dir = DefaultRunDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("run dir: %w", err)
	}
	if err := (layout.Layout{RunDir: abs}).CheckSocketPaths(); err != nil {
		return "", err
	}
	if err := ownDir(abs, 0o711); err != nil {
		return "", fmt.Errorf("run dir: %w", err)
	}
	return abs, nil
}

// ownDir creates dir (and missing parents) with mode, or gives an existing
// one that mode; the directory must be a real directory of dbaasd's user.
func ownDir(dir string, mode os.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if int(sys.Uid) != os.Geteuid() {
		return errors.New(dir + " belongs to another user (uid " + fmt.Sprint(sys.Uid) + "); dbaasd keeps only its own directories")
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}
