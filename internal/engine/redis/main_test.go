package redis

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// forwarderEnv makes the test binary act as the forwarder (see TestMain).
const forwarderEnv = "DBAASD_TEST_FORWARDER=1"

// forwarderBin is a copy of the test binary the engine user can execute
// (go test builds it in a directory only the caller can enter).
var forwarderBin string

func TestMain(m *testing.M) {
	if os.Getenv("DBAASD_TEST_FORWARDER") == "1" {
		if err := RunForwarder(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := copyTestBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy test binary for the forwarder:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func copyTestBinary() (string, error) {
	dir, err := os.MkdirTemp("", "dbaasd-redis-fwd")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		return dir, err
	}
	defer func() { _ = src.Close() }()
	forwarderBin = filepath.Join(dir, "redis-forwarder.test")
	dst, err := os.OpenFile(forwarderBin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return dir, err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return dir, err
	}
	return dir, dst.Close()
}

// newTestDriver returns a driver whose forwarder is this test binary.
func newTestDriver(t testing.TB) *Driver {
	t.Helper()
	r, err := proc.Default()
	if err != nil {
		t.Fatal(err)
	}
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return New(Options{Runner: r, Logger: logger, ForwarderCommand: []string{forwarderBin}, ForwarderEnv: []string{forwarderEnv, "GORACE=atexit_sleep_ms=0"}})
}
