package apitest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dbaasd/dbaasd/api"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds the dbaasd command once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			binErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		binPath = filepath.Join(sharedDir(t), "dbaasd")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/dbaasd")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build dbaasd: %w: %s", err, b)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// Proc is dbaasd running as a process of its own, as in production.
type Proc struct {
	t       testing.TB
	DataDir string
	Store   string
	Args    []string
	Addr    string
	cmd     *exec.Cmd
	log     *os.File
}

// StartProc runs the dbaasd binary on a free port with the test tokens of
// projects A, B and the admin; it stops (SIGKILL) at the end of the test.
func StartProc(t testing.TB, dataDir, storeURL string, args ...string) *Proc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	base := PortBase()
	args = append([]string{"--port-range", fmt.Sprintf("%d-%d", base, base+portSpan-1)}, args...)
	p := &Proc{t: t, DataDir: dataDir, Store: storeURL, Args: args, Addr: addr}
	p.Start()
	t.Cleanup(p.Kill)
	return p
}

// Start starts the process (again) and waits until it serves.
func (p *Proc) Start() {
	p.t.Helper()
	args := append([]string{"--listen", p.Addr, "--data-dir", p.DataDir, "--store", p.Store, "--log-level", "debug",
		"--template-dir", filepath.Join(sharedDir(p.t), "templates"),
		"--token", TokenA + "=" + ProjectA, "--token", TokenB + "=" + ProjectB, "--token", TokenAdm + "=" + ProjectC + ":admin"},
		p.Args...)
	cmd := exec.Command(Binary(p.t), args...)
	logf, err := os.OpenFile(filepath.Join(p.DataDir, "dbaasd-test.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd, p.log = cmd, logf
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.Addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Kill()
	p.t.Fatalf("dbaasd did not start; see %s", filepath.Join(p.DataDir, "dbaasd-test.log"))
}

// Kill ends the process with SIGKILL, at whatever point it is.
func (p *Proc) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = p.cmd.Process.Wait()
	p.cmd = nil
	if p.log != nil {
		_ = p.log.Close()
	}
}

// Env returns a client of the process (without in-process access).
func (p *Proc) Env() *Env {
	doc, err := api.Load()
	if err != nil {
		p.t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		p.t.Fatal(err)
	}
	return &Env{T: p.t, URL: "http://" + p.Addr, DataDir: p.DataDir, StoreURL: p.Store, router: router, stop: func() {}}
}

// NewDataDir returns a data dir for processes; engines left in it are
// destroyed at the end of the test.
func NewDataDir(t testing.TB, storeURL string) string { return dataDir(t, storeURL, 0) }

// LongDataDir is NewDataDir with a path of exactly n characters (for tests
// that paths in the data dir do not depend on its length).
func LongDataDir(t testing.TB, n int) string { return dataDir(t, "", n) }

func dataDir(t testing.TB, storeURL string, length int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-p")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	if length > 0 {
		top := dir
		t.Cleanup(func() { _ = os.RemoveAll(top) })
		if pad := length - len(dir) - 1; pad > 0 {
			dir = filepath.Join(dir, strings.Repeat("d", pad))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	keep := func() bool { return t.Failed() && os.Getenv("DBAASD_KEEP_FAILED") != "" }
	t.Cleanup(func() {
		if keep() {
			t.Logf("kept %s for inspection (DBAASD_KEEP_FAILED)", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	t.Cleanup(func() {
		if !keep() {
			destroyAll(t, dir, storeURL)
		}
	})
	return dir
}
