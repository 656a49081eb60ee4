package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBinaryLifecycle builds dbaasd and runs it as a user would: the first
// start prints a bootstrap token that works; SIGTERM ends it cleanly; a
// second start prints no new token and the old one still works.
func TestBinaryLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	// Engines may run as another OS user, who must reach the data dir.
	dir, err := os.MkdirTemp("", "dbaasd-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "dbaasd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	start := func() (*exec.Cmd, *lockedBuilder) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "DBAAS_LISTEN="+addr, "DBAAS_DATA_DIR="+data, "DBAAS_LOG_LEVEL=warn")
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out := &lockedBuilder{}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
			}
		}()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, out
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		t.Fatal("dbaasd never became healthy")
		return nil, nil
	}
	stop := func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("dbaasd did not exit cleanly on SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("dbaasd did not stop on SIGTERM")
		}
	}
	get := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/datastores", nil)
		req.Header.Set("X-Auth-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	cmd, out := start()
	time.Sleep(100 * time.Millisecond)
	m := regexp.MustCompile(`X-Auth-Token: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		stop(cmd)
		t.Fatalf("first start printed no token: %q", out.String())
	}
	if code := get(m[1]); code != 200 {
		t.Errorf("bootstrap token: %d", code)
	}
	if code := get("wrong"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	stop(cmd)
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still listening after SIGTERM")
	}

	cmd, out = start()
	defer stop(cmd)
	if code := get(m[1]); code != 200 {
		t.Errorf("bootstrap token after restart: %d", code)
	}
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(out.String(), "X-Auth-Token") {
		t.Errorf("second start printed a token again: %q", out.String())
	}
	key, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v", key, err)
	}
}

// lockedBuilder is a strings.Builder safe for a writer and a reader.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
