package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestTreeUsageCountsDescendants(t *testing.T) {
	t.Parallel()
	// A shell that runs a busy child: the child's CPU time counts for the
	// shell's tree while it runs.
	cmd := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done & sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	var u Usage
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if u, err = TreeUsage(pid); err != nil {
			t.Fatal(err)
		}
		if u.Processes >= 3 && u.CPUSeconds >= 0.05 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage of the tree never showed its busy child: %+v", u)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u.MemoryBytes <= 0 {
		t.Fatalf("no memory counted: %+v", u)
	}
	one, err := TreeUsage(os.Getpid())
	if err != nil || one.MemoryBytes < 1<<20 {
		t.Fatalf("own usage %+v, %v: want at least 1 MiB resident", one, err)
	}
}

func TestTreeUsageMissingProcess(t *testing.T) {
	t.Parallel()
	if _, err := TreeUsage(0); err == nil {
		t.Fatal("pid 0: want an error")
	}
	if _, err := treeUsage(t.TempDir(), 12345); err == nil {
		t.Fatal("a process without /proc entry: want an error")
	}
}

func TestReadStatOddCommandName(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// comm "a) b (c" with spaces and parentheses; utime 150, stime 50,
	// cutime 100, cstime 0 ticks; rss 10 pages.
	stat := "42 (a) b (c) S 7 42 42 0 -1 4194304 1 0 0 0 150 50 100 0 20 0 1 0 100 1000000 10 18446744073709551615\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readStat(root, 42)
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != 7 || st.State != 'S' || st.OwnCPU != 2 || st.ChildCPU != 1 || st.RSSPages != 10 {
		t.Fatalf("readStat = %+v, want state S, ppid 7, cpu 2 s + 1 s of children, rss 10 pages", st)
	}
	u, err := treeUsage(root, 42)
	if err != nil || u.Processes != 1 || u.CPUSeconds != 3 || u.MemoryBytes != 10*int64(os.Getpagesize()) {
		t.Fatalf("treeUsage = %+v, %v", u, err)
	}
}

func TestProcessesSnapshot(t *testing.T) {
	t.Parallel()
	ps, err := ReadProcesses()
	if err != nil {
		t.Fatal(err)
	}
	u, err := ps.TreeUsage(os.Getpid())
	if err != nil || u.Processes < 1 || u.MemoryBytes <= 0 {
		t.Fatalf("own usage from a snapshot: %+v, %v", u, err)
	}
	if init, err := ps.TreeUsage(1); err != nil || init.Processes <= u.Processes {
		t.Fatalf("the tree of pid 1 (%+v, %v) must hold more than this process's", init, err)
	}
	if _, err := ps.TreeUsage(1 << 30); err == nil {
		t.Fatal("a process missing from the snapshot: want an error")
	}
}

// TestPssReadAgainOnlyWhenItMayHaveChanged: a process's proportional set
// size is read once and reused while its resident set stays within
// 1/pssDrift; a resident set that moved, or a new process under the same
// ID (another start time), is read again.
func TestPssReadAgainOnlyWhenItMayHaveChanged(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "77")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	set := func(start, rssPages, pssKB int) {
		t.Helper()
		stat := fmt.Sprintf("77 (postgres) S 1 77 77 0 -1 4194304 1 0 0 0 1 1 0 0 20 0 1 0 %d 1000000 %d 18446744073709551615\n", start, rssPages)
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		rollup := fmt.Sprintf("00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\nRss: %d kB\nPss: %d kB\n", rssPages*4, pssKB)
		if err := os.WriteFile(filepath.Join(dir, "smaps_rollup"), []byte(rollup), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name            string
		start, rss, pss int
		wantKB          int64
	}{
		{"first reading", 100, 6400, 4000, 4000},
		{"resident set unchanged: reused", 100, 6400, 9000, 4000},
		{"resident set within 1/64: reused", 100, 6500, 9000, 4000},
		{"resident set grew: read again", 100, 7000, 9000, 9000},
		{"same ID, another process: read again", 200, 7000, 5000, 5000},
	} {
		set(step.start, step.rss, step.pss)
		u, err := treeUsage(root, 77)
		if err != nil {
			t.Fatal(err)
		}
		if u.MemoryBytes != step.wantKB*1024 {
			t.Errorf("%s: memory %d KiB, want %d KiB", step.name, u.MemoryBytes/1024, step.wantKB)
		}
	}
}
