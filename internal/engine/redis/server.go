package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Words that identify our processes in /proc/<pid>/cmdline (Redis rewrites
// its process title to "redis-server <addr>").
var (
	serverWords   = []string{"redis-server"}
	sentinelWords = []string{"redis-sentinel", "[sentinel]"}
)

// shutdownGrace is how long a server may take to save its dataset and exit
// before it is killed.
const shutdownGrace = 60 * time.Second

// ensureServer makes node n's redis-server run with config sc: it adopts a
// running server and applies changes live with CONFIG SET, restarting only
// for parameters Redis cannot change live; it starts a server that is not
// running. The config file is rewritten in both cases.
func (d *Driver) ensureServer(ctx context.Context, c *engine.Cluster, n *engine.Node, sc *serverConf) error {
	r, err := d.run(c)
	if err != nil {
		return err
	}
	p := nodePaths(n)
	if err := makeDirs(r, p); err != nil {
		return err
	}
	st, err := readState(r, p)
	if err != nil {
		return err
	}
	pid := runningPid(r, p.serverPid, serverWords...)
	if pid == 0 {
		if _, err := r.WriteFile(p.conf, sc.render(), 0o600); err != nil {
			return err
		}
		if err := d.startServer(ctx, c, n); err != nil {
			return err
		}
		if st.RestartPending {
			st.RestartPending = false
			return writeState(r, p, st)
		}
		return nil
	}

	cl, err := d.waitServer(ctx, r, c, n, pid)
	if err != nil {
		return err
	}
	if _, err := ensureUsers(ctx, cl, c, tenantServerRules); err != nil {
		_ = cl.Close()
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	restart, err := applyLive(ctx, cl, sc, d.resets(ctx, sc))
	_ = cl.Close()
	if err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	changed, err := r.WriteFile(p.conf, sc.render(), 0o600)
	if err != nil {
		return err
	}
	if len(restart) == 0 || (!changed && !st.RestartPending) {
		// Nothing needs a restart, or the server was started from this very
		// file and only reports a value in another form.
		if st.RestartPending {
			st.RestartPending = false
			return writeState(r, p, st)
		}
		return nil
	}
	st.RestartPending = true
	if err := writeState(r, p, st); err != nil {
		return err
	}
	d.log.Info("restarting redis server for parameters that cannot change live",
		"datastore_id", c.ID, "node", n.ID, "parameters", strings.Join(restart, ","))
	proc.Terminate(pid, shutdownGrace)
	if err := d.startServer(ctx, c, n); err != nil {
		return err
	}
	st.RestartPending = false
	return writeState(r, p, st)
}

// resets are the server's own defaults of the parameters a tenant may set
// that sc leaves out: a parameter removed from the configuration goes
// back to its default in the running server too, not only in redis.conf.
func (d *Driver) resets(ctx context.Context, sc *serverConf) []directive {
	defs, err := d.paramDefaults(ctx)
	if err != nil {
		d.log.Warn("cannot read Redis's defaults; parameters removed from the configuration keep their value until a restart", "error", err)
		return nil
	}
	var out []directive
	for name, v := range defs {
		if _, set := sc.get(name); !set {
			out = append(out, directive{name: name, value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// applyLive sets every directive whose running value differs, and resets
// to their defaults the parameters in resets, one at a time, and returns
// the names Redis refused to change live. A value Redis rejects is an
// error carrying Redis's message, marked engine.ErrInvalid.
func applyLive(ctx context.Context, cl *goredis.Client, sc *serverConf, resets []directive) ([]string, error) {
	cur, err := cl.ConfigGet(ctx, "*").Result()
	if err != nil {
		return nil, redisErr("CONFIG GET", err)
	}
	var restart []string
	var invalid []error
	for _, dv := range append(append([]directive{}, sc.directives...), resets...) {
		if fixedDirectives[dv.name] {
			continue
		}
		if have, ok := cur[dv.name]; ok && normalize(have) == normalize(dv.value) {
			continue
		}
		err := cl.ConfigSet(ctx, dv.name, dv.value).Err()
		switch {
		case err == nil:
		case isImmutable(err):
			restart = append(restart, dv.name)
		case isRedisReply(err):
			invalid = append(invalid, fmt.Errorf("%w: %s: %v", engine.ErrInvalid, dv.name, err))
		default:
			return nil, redisErr("CONFIG SET "+dv.name, err)
		}
	}
	if len(invalid) > 0 {
		return nil, errors.Join(invalid...)
	}
	return restart, nil
}

// isImmutable reports whether CONFIG SET refused because the parameter can
// only be set at startup.
func isImmutable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "immutable") || strings.Contains(s, "protected config")
}

// isRedisReply reports whether err is an error reply from the server (as
// opposed to a network failure).
func isRedisReply(err error) bool {
	var re goredis.Error
	return errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// startServer starts node n's redis-server from its config file and waits
// until it answers.
func (d *Driver) startServer(ctx context.Context, c *engine.Cluster, n *engine.Node) error {
	r, err := d.run(c)
	if err != nil {
		return err
	}
	bin, err := serverBinary()
	if err != nil {
		return err
	}
	p := nodePaths(n)
	if err := r.Remove(p.serverPid); err != nil {
		return err
	}
	// The log file must belong to the engine user, who may not create it in
	// a directory dbaasd made.
	if err := touch(r, p.serverLog); err != nil {
		return err
	}
	// daemonize yes: the parent checks the config (reporting errors on its
	// output) and exits; the server forks into its own session.
	if out, err := r.Run(ctx, "/bin/sh", privateStart(bin, p.conf)...); err != nil {
		if strings.Contains(string(out), "FATAL CONFIG FILE ERROR") {
			return fmt.Errorf("%w: node %s: redis-server refused its configuration: %s", engine.ErrInvalid, n.ID, strings.TrimSpace(string(out)))
		}
		return fmt.Errorf("node %s: start redis-server: %w", n.ID, err)
	}
	d.log.Info("started redis server", "datastore_id", c.ID, "node", n.ID, "addr", addr(listenIP(n), n.Port))
	cl, err := d.waitServer(ctx, r, c, n, 0)
	if err != nil {
		return err
	}
	return cl.Close()
}

// waitServer waits until node n's server answers on its socket (or is
// loading its dataset) and returns a client of the internal user. pid is
// the process to watch, 0 to read it from the pid file as it appears. It
// fails early when the process exits.
func (d *Driver) waitServer(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node, pid int) (*goredis.Client, error) {
	p := nodePaths(n)
	start := time.Now()
	var lastErr error
	for {
		if pid == 0 {
			pid = proc.ReadPidFile(p.serverPid) // only watched, never signalled
		}
		if pid > 0 && !proc.Alive(pid) {
			return nil, fmt.Errorf("node %s: redis-server exited: %s", n.ID, logTail(r, p.serverLog, 1500))
		}
		if pid == 0 && time.Since(start) > 10*time.Second {
			return nil, fmt.Errorf("node %s: redis-server did not write %s: %s", n.ID, p.serverPid, logTail(r, p.serverLog, 1500))
		}
		if pid > 0 {
			cl, err := connectInternal(ctx, c, unixEndpoint(p.serverSock), creds(r, c, p), tenantServerRules)
			if err == nil {
				if werr := waitLoaded(ctx, cl); werr != nil {
					_ = cl.Close()
					return nil, fmt.Errorf("node %s: %w", n.ID, werr)
				}
				return cl, nil
			}
			if errors.Is(err, errAuth) {
				return nil, fmt.Errorf("node %s: redis-server runs but %w", n.ID, err)
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("node %s: wait for redis-server: %w (last error: %v)", n.ID, ctx.Err(), lastErr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitLoaded waits while the server loads its dataset.
func waitLoaded(ctx context.Context, cl *goredis.Client) error {
	for {
		err := cl.Ping(ctx).Err()
		if !isLoading(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server still loading its dataset: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopServer stops node n's server (it saves its dataset on the way out).
func stopServer(r *proc.Runner, n *engine.Node) {
	p := nodePaths(n)
	if pid := runningPid(r, p.serverPid, serverWords...); pid > 0 {
		proc.Terminate(pid, shutdownGrace)
	}
}

// privateStart returns the arguments of /bin/sh that run a Redis binary
// under umask 077: the files Redis writes itself (dump.rdb, the AOF, logs,
// and the config files Sentinel and CONFIG REWRITE rewrite with passwords in
// them) are then readable by the engine user only.
func privateStart(bin string, args ...string) []string {
	return append([]string{"-c", `umask 077 && exec "$0" "$@"`, bin}, args...)
}

// touch creates a file owned by the engine user if it does not exist.
func touch(r *proc.Runner, path string) error {
	return r.As(func() error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o640)
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		_ = f.Close() // nothing written
		return r.Chown(path)
	})
}
