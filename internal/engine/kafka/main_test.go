package kafka

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// brokerEnv makes the test binary act as the kafka-broker command.
const brokerEnv = "DBAASD_KAFKA_BROKER"

// testBrokerCommand runs RunBroker: this test binary, re-executed with
// brokerEnv set.
var testBrokerCommand []string

// TestMain re-executes the test binary as the broker process when brokerEnv
// is set, so the tests run real broker processes without a dbaasd build.
func TestMain(m *testing.M) {
	if os.Getenv(brokerEnv) == "1" {
		if err := RunBroker(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "kafka-broker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	exe, cleanup, err := brokerExecutable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testBrokerCommand = []string{exe}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// brokerExecutable returns a copy of the test binary that the engine user
// can execute: as root, brokers run as the unprivileged system user, which
// cannot enter the go tool's private build directory.
func brokerExecutable() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	if os.Geteuid() != 0 {
		return self, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "dbaasd-kafka-bin")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := os.Chmod(dir, 0o755); err != nil {
		cleanup()
		return "", nil, err
	}
	dst := filepath.Join(dir, "kafka-broker.test")
	if err := copyFile(self, dst, 0o755); err != nil {
		cleanup()
		return "", nil, err
	}
	return dst, cleanup, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
