package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCmdline(t *testing.T) {
	t.Parallel()
	args := Cmdline(os.Getpid())
	if len(args) == 0 || !strings.HasSuffix(args[0], filepath.Base(os.Args[0])) {
		t.Fatalf("Cmdline(self) = %q, want argv starting with %q", args, os.Args[0])
	}
	if got := Cmdline(0); got != nil {
		t.Fatalf("Cmdline(0) = %q, want nil", got)
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDirSize(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a": "12345", "sub/b": "123", "sub/deeper/c": ""})
	if err := os.Symlink("a", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := DirSize(root)
	if err != nil || got != 8 {
		t.Fatalf("DirSize = %d, %v; want 8 (symlinks not counted)", got, err)
	}
	if _, err := DirSize(filepath.Join(root, "missing")); err == nil {
		t.Fatal("DirSize of a missing directory: want an error")
	}
}

// TestDiskUsage: allocated blocks, as du counts them: a sparse file takes
// less than its size, a written one at least its size; a missing root is
// nothing.
func TestDiskUsage(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"dense": strings.Repeat("x", 64<<10)})
	f, err := os.Create(filepath.Join(root, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	got := DiskUsage(root)
	if got < 64<<10 || got >= 64<<20 {
		t.Errorf("DiskUsage = %d, want at least the dense file (65536) and far below the sparse file's size", got)
	}
	if got := DiskUsage(filepath.Join(root, "missing")); got != 0 {
		t.Errorf("DiskUsage of a missing root = %d, want 0", got)
	}
}

func TestCopyTree(t *testing.T) {
	t.Parallel()
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{"PG_VERSION": "15\n", "base/1/1259": strings.Repeat("x", 1<<20), "global/empty": ""}
	writeTree(t, src, files)
	if err := os.Chmod(filepath.Join(src, "PG_VERSION"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("base/1", filepath.Join(src, "pg_tblspc_link")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if err := r.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		b, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(b) != content {
			t.Fatalf("%s: got %d bytes (err %v), want %d", name, len(b), err, len(content))
		}
	}
	st, err := os.Stat(filepath.Join(dst, "PG_VERSION"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode of copied file = %v (err %v), want 0640", st.Mode().Perm(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "pg_tblspc_link")); err != nil || target != "base/1" {
		t.Fatalf("symlink copied as %q (err %v)", target, err)
	}
	if err := r.CopyTree(src, dst); err == nil {
		t.Fatal("CopyTree onto an existing destination: want an error")
	}
}

func TestMkdirAllMakesParentsReachable(t *testing.T) {
	t.Parallel()
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "node")
	if err := r.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("second MkdirAll: %v", err)
	}
	for _, p := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o755 {
			t.Errorf("parent %s has mode %v, want 0755", p, st.Mode().Perm())
		}
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
}

// TestToolsLeaveNothingBehind runs a tool that forks a child which
// outlives it: Run kills the tool's process group when the tool is done,
// and TrackTools kills groups recorded by a dbaasd that died meanwhile.
func TestToolsLeaveNothingBehind(t *testing.T) {
	r := &Runner{}
	dir := t.TempDir()
	if err := r.TrackTools(dir); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("dbaasd-test-orphan-%d", os.Getpid())
	if _, err := r.Run(context.Background(), "/bin/sh", "-c", "(exec -a "+marker+" sleep 300 &) ; exit 0"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if out, _ := exec.Command("pgrep", "-f", marker).Output(); len(out) > 0 {
		t.Fatalf("a forked child outlived its tool: %s", out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("tool records left: %v", entries)
	}
	// A group recorded by a dead dbaasd is killed at the next start.
	cmd := exec.Command("/bin/sh", "-c", "exec -a "+marker+" sleep 300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	// Recorded by a dbaasd (PID 999999999) that is not running any more.
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("999999999-%d", cmd.Process.Pid)), []byte("sleep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (&Runner{}).TrackTools(dir); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed: the error only says so
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the recorded group was not killed")
	}
}
