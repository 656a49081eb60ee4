package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// TrackTools makes the runner record, in dir, the process group of every
// tool it runs (Run) while it runs, and kills the groups that a dbaasd
// which has since died recorded there and left behind. A tool dies with
// dbaasd (parent death signal), but what the tool forked (pg_basebackup's
// WAL streamer) would live on holding resources — its process group is how
// it is found. Records carry the recording process's PID, so a dbaasd never
// reaps the tools of one that still runs.
func (r *Runner) TrackTools(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tool records: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("tool records: %w", err)
	}
	for _, ent := range entries {
		owner, group, ok := strings.Cut(ent.Name(), "-")
		ownerPID, err1 := strconv.Atoi(owner)
		pgid, err2 := strconv.Atoi(group)
		if !ok || err1 != nil || err2 != nil || Alive(ownerPID) {
			continue
		}
		want, _ := os.ReadFile(filepath.Join(dir, ent.Name()))
		if groupRuns(pgid, strings.TrimSpace(string(want))) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		_ = os.Remove(filepath.Join(dir, ent.Name()))
	}
	if r.tools == nil {
		r.tools = &toolRecords{}
	}
	r.tools.dir.Store(&dir)
	return nil
}

// groupRuns reports whether a process of group pgid runs the tool named.
func groupRuns(pgid int, tool string) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		g, err := syscall.Getpgid(pid)
		if err != nil || g != pgid {
			continue
		}
		if args := Cmdline(pid); len(args) > 0 && strings.Contains(strings.Join(args, " "), tool) {
			return true
		}
	}
	return false
}

// runTracked runs a prepared command in a process group of its own,
// recorded while it runs, and kills the whole group when it is cancelled.
func (r *Runner) runTracked(cmd *exec.Cmd) error {
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var record string
	if dir := r.toolDir(); dir != nil {
		record = filepath.Join(*dir, fmt.Sprintf("%d-%d", os.Getpid(), cmd.Process.Pid))
		_ = os.WriteFile(record, []byte(filepath.Base(cmd.Path)), 0o600)
	}
	err := cmd.Wait()
	// The tool is done; anything it forked and left behind goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if record != "" {
		_ = os.Remove(record)
	}
	return err
}

func (r *Runner) toolDir() *string {
	if r.tools == nil {
		return nil
	}
	return r.tools.dir.Load()
}
