package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// serverPID returns the postmaster's process ID when postmaster.pid names a
// live postgres process, else 0 (no server, a stale pid file, or a PID that
// now belongs to another program).
func serverPID(p nodePaths) int {
	pid := proc.ReadPidFile(filepath.Join(p.data, "postmaster.pid"))
	if proc.Alive(pid) && isPostmaster(proc.Cmdline(pid)) {
		return pid
	}
	return 0
}

// liveServerPID is serverPID, and when there is no (or a stale) pid file,
// a postmaster found by its data directory: a crash of dbaasd at the wrong
// moment (a data directory being replaced) can leave a server running whose
// pid file is gone. Starting and stopping use it, so such a server is
// adopted or stopped and never collides with a second one on its port;
// observing uses the cheaper serverPID.
func liveServerPID(p nodePaths) int {
	if pid := serverPID(p); pid != 0 {
		return pid
	}
	return postmasterOf(p.data)
}

func isPostmaster(args []string) bool {
	if len(args) == 0 {
		return false
	}
	base := filepath.Base(args[0])
	return base == "postgres" || base == "postmaster" || strings.HasPrefix(base, "postgres:")
}

// postmasterOf finds a running postmaster started with -D dataDir.
func postmasterOf(dataDir string) int {
	if _, err := os.Stat(dataDir); err != nil {
		return 0 // no data directory: no server of this node can run
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		args := proc.Cmdline(pid)
		if !isPostmaster(args) {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-D" && filepath.Clean(args[i+1]) == filepath.Clean(dataDir) && proc.Alive(pid) {
				return pid
			}
		}
	}
	return 0
}

// adoptTimeout bounds how long a running server may take to answer (it
// may be recovering after a crash) before Ensure gives up on it.
const adoptTimeout = 2 * time.Minute

// ensureRunning adopts a node's running server once it answers, or starts
// it when none runs (or the one found dies while we wait: a server killed
// a moment ago still shows up as a live process for a little while). It
// reports whether it started the server, and what the server says.
func (d *Driver) ensureRunning(ctx context.Context, e *env, c *engine.Cluster, p nodePaths) (started bool, st serverState, err error) {
	if pid := liveServerPID(p); pid != 0 {
		deadline := time.Now().Add(adoptTimeout)
		for {
			if st, err = d.nodeState(ctx, c, p); err == nil {
				return false, st, nil
			}
			if !proc.Alive(pid) {
				break
			}
			if time.Now().After(deadline) {
				return false, st, fmt.Errorf("node %s: the server (pid %d) runs but does not answer: %w", p.id, pid, err)
			}
			select {
			case <-ctx.Done():
				return false, st, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := d.startServer(ctx, e, p); err != nil {
		return false, st, err
	}
	st, err = d.nodeState(ctx, c, p)
	return true, st, err
}

// startServer starts a node's server with pg_ctl and waits until it
// accepts connections.
func (d *Driver) startServer(ctx context.Context, e *env, p nodePaths) error {
	if err := e.r.MkdirAll(p.log, 0o700); err != nil {
		return err
	}
	if err := ensureSocketDir(e.r, p.socketDir); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	// A postmaster.pid whose PID is dead or reused would stop the server
	// from starting; a live server was adopted before we got here.
	// The same goes for the socket's lock file (PostgreSQL takes a zombie
	// for a live server, and zombies may linger where nobody reaps them).
	if serverPID(p) == 0 {
		_ = e.r.Remove(filepath.Join(p.data, "postmaster.pid"))
	}
	sock := filepath.Join(p.socketDir, fmt.Sprintf(".s.PGSQL.%d", p.port))
	if pid := proc.ReadPidFile(sock + ".lock"); pid != 0 && !proc.Alive(pid) {
		_ = e.r.Remove(sock + ".lock")
		_ = e.r.Remove(sock)
	}
	d.log.Info("starting server", "node", p.id, "port", p.port)
	var err error
	// Right after a crash the old server's children may still hold its
	// shared memory for a moment; try again briefly in that case.
	for attempt := 0; attempt < 20; attempt++ {
		_, err = e.r.Run(ctx, e.inst.bin("pg_ctl"), "start", "-w", "-t", "120", "-D", p.data,
			"-l", filepath.Join(p.log, "startup.log"))
		if err == nil {
			return nil
		}
		if !strings.Contains(serverLogTail(p), "pre-existing shared memory block") {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s: start postgresql: %w; server log: %s", p.id, err, serverLogTail(p))
}

// restartServer restarts a running server (fast shutdown).
func (d *Driver) restartServer(ctx context.Context, e *env, p nodePaths, why string) error {
	d.log.Info("restarting server", "node", p.id, "reason", why)
	if _, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "restart", "-w", "-t", "120", "-m", "fast", "-D", p.data,
		"-l", filepath.Join(p.log, "startup.log")); err != nil {
		return fmt.Errorf("node %s: restart postgresql: %w; server log: %s", p.id, err, serverLogTail(p))
	}
	return nil
}

// stopServer stops a node's server (fast shutdown: sessions are
// disconnected, committed work is kept). It falls back to signals when
// pg_ctl fails and returns once the server is gone.
func (d *Driver) stopServer(ctx context.Context, e *env, p nodePaths) error {
	pid := liveServerPID(p)
	if pid == 0 {
		return nil
	}
	d.log.Info("stopping server", "node", p.id, "pid", pid)
	_, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "stop", "-w", "-t", "60", "-m", "fast", "-D", p.data)
	if (err != nil || proc.Alive(pid)) && e.r.OwnsProcess(pid) {
		d.log.Warn("pg_ctl stop failed; terminating the server", "node", p.id, "pid", pid, "error", err)
		proc.Terminate(pid, 10*time.Second)
	}
	if proc.Alive(pid) {
		return fmt.Errorf("node %s: server (pid %d) did not stop", p.id, pid)
	}
	return nil
}

// serverLogTail returns the last lines of what the server logged: its
// startup log and the newest server log file.
func serverLogTail(p nodePaths) string {
	var parts []string
	if s := tailFile(filepath.Join(p.log, "startup.log"), 5); s != "" {
		parts = append(parts, s)
	}
	logs, _ := filepath.Glob(filepath.Join(p.log, "postgresql-*.log"))
	sort.Slice(logs, func(i, j int) bool { return modTime(logs[i]).After(modTime(logs[j])) })
	if len(logs) > 0 {
		if s := tailFile(logs[0], 5); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " | ")
}

func modTime(path string) time.Time {
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// tailFile returns the last n lines of a file, joined with " / ".
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	const chunk = 8192
	off := max(st.Size()-chunk, 0)
	buf := make([]byte, st.Size()-off)
	read, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf[:read]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
