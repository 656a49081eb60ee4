package daemon

import (
	"bytes"
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
	data, err := os.ReadFile(exe)
	if err != nil {
		return nil, fmt.Errorf("read own executable: %w", err)
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(dataDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	dst := filepath.Join(dir, "dbaasd-"+hex.EncodeToString(sum[:6]))
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return []string{dst}, nil
	}
	tmp, err := os.CreateTemp(dir, ".dbaasd-*")
	if err != nil {
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		_ = tmp.Close() // the copy's error is the one to report
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("copy own executable: %w", err)
	}
	return []string{dst}, nil
}
