// Package s3test starts a real S3-compatible server for a test: versitygw
// (github.com/versity/versitygw) with its posix backend over a temporary
// directory, on a free loopback port, stopped at the end of the test.
//
// The binary is built from its Go module by scripts/install-deps.sh (make
// deps, make test) into a cache keyed by its version, the same place the
// Kubernetes test bed uses (scripts/k8s/env.sh); DBAAS_VERSITYGW names
// another binary.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/testutil/syncbuf"
)

// Version is the versitygw release the tests run: keep it equal to
// VERSITYGW_VERSION in scripts/k8s/env.sh (TestVersionMatchesScripts).
const Version = "v1.8.0"

// Binary is where the versitygw binary is: $DBAAS_VERSITYGW, or the
// build cache of scripts/k8s/build.sh ($K8S_CACHE, default
// /var/cache/dbaasd-k8s).
func Binary() string {
	if p := os.Getenv("DBAAS_VERSITYGW"); p != "" {
		return p
	}
	cache := os.Getenv("K8S_CACHE")
	if cache == "" {
		cache = "/var/cache/dbaasd-k8s"
	}
	return filepath.Join(cache, "bin", "versitygw-"+Version, "versitygw")
}

// Server is a running versitygw.
type Server struct {
	// Endpoint is its http URL.
	Endpoint string
	// Dir is the posix backend's directory: an object K of bucket B is
	// the file Dir/B/K.
	Dir string
	// AccessKey and SecretKey are its root credentials.
	AccessKey, SecretKey string
	// Region is the region it answers for.
	Region string
}

// Start runs a versitygw for the test (skipped with -short). It fails the
// test, saying how to build it, when the binary is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an S3-compatible server (skipped with -short)")
	}
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("versitygw %s is not built (%v): run scripts/install-deps.sh (make deps), or set DBAAS_VERSITYGW", Version, err)
	}
	dir := t.TempDir()
	s := &Server{Dir: filepath.Join(dir, "data"), AccessKey: "dbaasd" + random(t, 6), SecretKey: random(t, 20), Region: "us-east-1"}
	for _, d := range []string{s.Dir, filepath.Join(dir, "meta")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for range 5 { // a free port may be taken before the server binds it
		port := freePort(t)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logs := &syncbuf.Buffer{}
		cmd := exec.Command(bin, "--port", addr, "--region", s.Region, "--quiet",
			"posix", "--sidecar", filepath.Join(dir, "meta"), s.Dir)
		// The credentials go through the environment, not the command line
		// (which every user of the machine can read).
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		if lastErr = waitListening(addr, exited, &waitErr); lastErr != nil {
			_ = cmd.Process.Kill()
			lastErr = fmt.Errorf("%w: %s", lastErr, logs.String())
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		s.Endpoint = "http://" + addr
		return s
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return nil
}

// Config is the object storage configuration of a bucket and prefix of
// the server.
func (s *Server) Config(bucket, prefix string) objectstore.Config {
	return objectstore.Config{Endpoint: s.Endpoint, Region: s.Region, Bucket: bucket, Prefix: prefix,
		AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}

// Bucket creates a bucket and returns its directory.
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	c, err := minio.New(s.Endpoint[len("http://"):], &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return filepath.Join(s.Dir, name)
}

// waitListening waits until addr takes connections, or the process ends
// (exited closed, with its error in *waitErr).
func waitListening(addr string, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("versitygw exited: %v", *waitErr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw does not listen on %s", addr)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func random(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
