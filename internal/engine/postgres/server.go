package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// postmaster describes a node's server: found by postmaster.pid, or by
// its data directory when the pid file is gone (a crash of dbaasd at the
// wrong moment, a data directory being replaced, can leave a server
// running without it), so that such a server is adopted or stopped and
// never collides with a second one on its port. r is the cluster's
// account; nil only looks (Running).
func postmaster(r *proc.Runner, p nodePaths) *proc.Daemon {
	return &proc.Daemon{
		Name:      "node " + p.id + ": postgres",
		Runner:    r,
		PidFile:   filepath.Join(p.data, "postmaster.pid"),
		Recognise: func(_ int, argv []string) bool { return isPostmaster(argv) && servesData(argv, p.data) },
		Scan:      exists(p.data),
		Tail:      func() string { return serverLogTail(r, p) },
		StopGrace: 10 * time.Second,
	}
}

// serverPID returns the postmaster's process ID when postmaster.pid names
// a live postgres process of the node, else 0 (no server, a stale pid
// file, or a PID that now belongs to another program).
func serverPID(p nodePaths) int { return postmaster(nil, p).Running() }

func isPostmaster(args []string) bool {
	if len(args) == 0 {
		return false
	}
	base := filepath.Base(args[0])
	return base == "postgres" || base == "postmaster" || strings.HasPrefix(base, "postgres:")
}

// servesData reports whether a postmaster's arguments name dataDir (-D).
func servesData(args []string, dataDir string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-D" && filepath.Clean(args[i+1]) == filepath.Clean(dataDir) {
			return true
		}
	}
	return false
}

// server is postmaster with pg_ctl to start and stop it.
func (d *Driver) server(e *env, p nodePaths) *proc.Daemon {
	dm := postmaster(e.r, p)
	dm.Launch = func(ctx context.Context) error { return d.launchServer(ctx, e, p) }
	dm.Shutdown = func(ctx context.Context, pid int) {
		// Fast shutdown: sessions are disconnected, committed work is kept.
		if _, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "stop", "-w", "-t", "60", "-m", "fast", "-D", p.data); err != nil {
			d.log.Warn("pg_ctl stop failed; terminating the server", "node", p.id, "pid", pid, "error", err)
		}
	}
	return dm
}

// adoptTimeout bounds how long a running server may take to answer (it
// may be recovering after a crash) before Ensure gives up on it.
const adoptTimeout = 2 * time.Minute

// ensureRunning adopts a node's running server once it answers, or starts
// it when none runs (or the one found dies while we wait: a server killed
// a moment ago still shows up as a live process for a little while). It
// reports whether it started the server, and what the server says.
func (d *Driver) ensureRunning(ctx context.Context, e *env, c *engine.Cluster, p nodePaths) (started bool, st serverState, err error) {
	dm := d.server(e, p)
	if pid := dm.Find(); pid != 0 {
		dm.Ready = func(ctx context.Context, _ int) error {
			st, err = d.nodeState(ctx, c, p)
			return err
		}
		dm.ReadyTimeout = adoptTimeout
		aerr := dm.Await(ctx, pid)
		if aerr == nil {
			return false, st, nil
		}
		if proc.Alive(pid) || ctx.Err() != nil {
			return false, st, aerr
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
	// A socket lock file whose PID is dead would stop the server from
	// starting (PostgreSQL takes a zombie for a live server, and zombies
	// may linger where nobody reaps them). A stale postmaster.pid goes
	// with Start.
	sock := filepath.Join(p.socketDir, fmt.Sprintf(".s.PGSQL.%d", p.port))
	if pid := proc.ReadPidFile(sock + ".lock"); pid != 0 && !proc.Alive(pid) {
		_ = e.r.Remove(sock + ".lock")
		_ = e.r.Remove(sock)
	}
	d.log.Info("starting server", "node", p.id, "port", p.port)
	_, err := d.server(e, p).Start(ctx)
	return err
}

// launchServer runs pg_ctl start, which returns once the server accepts
// connections.
func (d *Driver) launchServer(ctx context.Context, e *env, p nodePaths) error {
	var err error
	// Right after a crash the old server's children may still hold its
	// shared memory for a moment; try again briefly in that case.
	for attempt := 0; attempt < 20; attempt++ {
		_, err = e.r.Run(ctx, e.inst.bin("pg_ctl"), "start", "-w", "-t", "120", "-D", p.data,
			"-l", filepath.Join(p.log, "startup.log"))
		if err == nil {
			return nil
		}
		if !strings.Contains(serverLogTail(e.r, p), "pre-existing shared memory block") {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s: start postgresql: %w; server log: %s", p.id, err, serverLogTail(e.r, p))
}

// restartServer restarts a running server (fast shutdown).
func (d *Driver) restartServer(ctx context.Context, e *env, p nodePaths, why string) error {
	d.log.Info("restarting server", "node", p.id, "reason", why)
	if _, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "restart", "-w", "-t", "120", "-m", "fast", "-D", p.data,
		"-l", filepath.Join(p.log, "startup.log")); err != nil {
		return fmt.Errorf("node %s: restart postgresql: %w; server log: %s", p.id, err, serverLogTail(e.r, p))
	}
	return nil
}

// stopServer stops a node's server (pg_ctl stop, fast shutdown: sessions
// are disconnected, committed work is kept), terminating it when pg_ctl
// fails, and returns once the server is gone.
func (d *Driver) stopServer(ctx context.Context, e *env, p nodePaths) error {
	dm := d.server(e, p)
	pid := dm.Find()
	if pid == 0 {
		return nil
	}
	d.log.Info("stopping server", "node", p.id, "pid", pid)
	return dm.StopProcess(ctx, pid)
}

// serverLogTail returns the last lines of what the server logged, read as
// the cluster's account r: its startup log and the newest server log file.
func serverLogTail(r *proc.Runner, p nodePaths) string {
	if r == nil {
		return ""
	}
	var parts []string
	if s := r.LogTail(filepath.Join(p.log, "startup.log"), 5); s != "" {
		parts = append(parts, s)
	}
	logs, _ := filepath.Glob(filepath.Join(p.log, "postgresql-*.log"))
	sort.Slice(logs, func(i, j int) bool { return modTime(logs[i]).After(modTime(logs[j])) })
	if len(logs) > 0 {
		if s := r.LogTail(logs[0], 5); s != "" {
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
