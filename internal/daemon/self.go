package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// selfCommand returns the command that runs this binary for the processes
// engines need of it (Kafka brokers, Redis firewall forwarders). Those run
// as the engines' OS user, which may not reach the binary (a build under
// /root, a test binary in a private temporary directory), so when engines
// run as another user the binary is copied into the data directory, which
// that user can reach.
func selfCommand(given []string, dataDir string, r *proc.Runner) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	if os.Getuid() != 0 || r.UID == 0 {
		return []string{exe}, nil
	}
	sum, err := fileSum(exe)
	if err != nil {
		return nil, fmt.Errorf("read own executable: %w", err)
	}
	dir := filepath.Join(dataDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	dst := filepath.Join(dir, "dbaasd-"+hex.EncodeToString(sum[:6]))
	if old, err := fileSum(dst); err == nil && old == sum {
		return []string{dst}, nil
	}
	if err := copyExecutable(exe, dir, dst); err != nil {
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	return []string{dst}, nil
}

// fileSum is the SHA-256 of a file, read as a stream (the executable is
// tens of megabytes: read whole, it would stay in dbaasd's memory).
func fileSum(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer func() { _ = f.Close() }() // read only
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// copyExecutable copies src to dst (mode 0755) through a temporary file
// in dir, so that dst is never seen half written.
func copyExecutable(src, dir, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read only
	tmp, err := os.CreateTemp(dir, ".dbaasd-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		_ = tmp.Close() // the copy's error is the one to report
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
