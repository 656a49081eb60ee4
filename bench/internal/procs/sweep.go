package procs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Under returns the live processes that belong to dir: those whose command
// line, working directory or an open file is under dir (engine servers,
// whose pid files are under dir too), with all their descendants (the
// background processes of a PostgreSQL server, whose command lines do not
// name the directory). Processes in skip are left out.
func Under(dir string, skip map[int]bool) []int {
	dir = filepath.Clean(dir)
	all := listPIDs()
	parent := map[int]int{}
	for _, pid := range all {
		parent[pid] = PPID(pid)
	}
	roots := map[int]bool{}
	for _, pid := range all {
		if !skip[pid] && belongs(pid, dir) {
			roots[pid] = true
		}
	}
	for _, pid := range pidFilesUnder(dir) {
		if _, ok := parent[pid]; ok && !skip[pid] && belongs(pid, dir) {
			roots[pid] = true
		}
	}
	var out []int
	for _, pid := range all {
		for p := pid; p > 1; p = parent[p] {
			if roots[p] {
				if !skip[pid] {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// belongs reports whether a process names dir on its command line, works
// in it or holds a file under it open.
func belongs(pid int, dir string) bool {
	prefix := dir + string(filepath.Separator)
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && namesDir(cmd, dir) {
		return true
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && (cwd == dir || strings.HasPrefix(cwd, prefix)) {
		return true
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if t, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(t, prefix) {
			return true
		}
	}
	return false
}

// namesDir reports whether a NUL-separated command line names dir or a
// path under it (and not merely a sibling that shares its prefix).
func namesDir(cmdline []byte, dir string) bool {
	d := []byte(dir)
	for i := 0; ; {
		j := bytes.Index(cmdline[i:], d)
		if j < 0 {
			return false
		}
		end := i + j + len(d)
		if end == len(cmdline) || cmdline[end] == 0 || cmdline[end] == '/' {
			return true
		}
		i = end
	}
}

// pidFilesUnder returns the process IDs in the pid files under dir
// (postmaster.pid, *.pid, mariadbd's "pid").
func pidFilesUnder(dir string) []int {
	var out []int
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if name != "postmaster.pid" && name != "pid" && !strings.HasSuffix(name, ".pid") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 1 {
			out = append(out, pid)
		}
		return nil
	})
	return out
}

func listPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// PPID returns the parent process ID of pid (0 if unknown).
func PPID(pid int) int {
	st, _ := proc.ReadStat(pid)
	return st.PPID
}

// Sweep terminates every process that belongs to dir (see Under): SIGTERM,
// then SIGKILL for those still alive after grace. It returns how many
// processes it found.
func Sweep(dir string, grace time.Duration) int {
	skip := map[int]bool{os.Getpid(): true}
	pids := Under(dir, skip)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		alive := 0
		for _, pid := range pids {
			if alive1(pid) {
				alive++
			}
		}
		if alive == 0 {
			return len(pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// alive1 reports whether pid runs and is not a zombie.
func alive1(pid int) bool {
	st, err := proc.ReadStat(pid)
	return err == nil && st.Alive()
}

// Tree returns pid and its live descendants.
func Tree(pid int) []int {
	all := listPIDs()
	parent := map[int]int{}
	for _, p := range all {
		parent[p] = PPID(p)
	}
	var out []int
	for _, p := range all {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
