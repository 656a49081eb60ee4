package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Restrict sets the permission bits of path to mode when they differ,
// and reports the bits it found. A missing file is not an error (changed
// is false). dbaasd calls it at every start on the files that hold
// secrets, so that a deployment made before they were restricted is
// fixed too.
func Restrict(path string, mode fs.FileMode) (old fs.FileMode, changed bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("check mode of %s: %w", path, err)
	}
	old = fi.Mode().Perm()
	if old == mode.Perm() {
		return old, false, nil
	}
	if err := os.Chmod(path, mode.Perm()); err != nil {
		return old, false, fmt.Errorf("set mode of %s to %#o (it is %#o): %w", path, mode.Perm(), old, err)
	}
	return old, true, nil
}
