package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	pid := serverProcess(r, n).Running()
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
	if err := serverProcess(r, n).StopProcess(ctx, pid); err != nil {
		return err
	}
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
	var cl *goredis.Client
	dm := readyServer(r, c, n, &cl)
	// daemonize no: the server is started in a session of its own by
	// StartDaemon instead of forking itself, which costs every start a
	// copy of the process (measured: five servers at once start about
	// 15 % sooner). A configuration it refuses ends it at once, with
	// Redis's message at the end of its log.
	dm.Command, dm.Args, dm.Dir = "/bin/sh", privateStart(bin, p.conf), p.dir
	if _, err := dm.Start(ctx); err != nil {
		if strings.Contains(err.Error(), "FATAL CONFIG FILE ERROR") {
			return fmt.Errorf("%w: %w", engine.ErrInvalid, err)
		}
		return err
	}
	d.log.Info("started redis server", "datastore_id", c.ID, "node", n.ID, "addr", addr(listenIP(n), n.Port))
	return cl.Close()
}

// waitServer waits until node n's running server pid answers on its
// socket (or is loading its dataset) and returns a client of the internal
// user. It fails early when the process exits.
func (d *Driver) waitServer(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node, pid int) (*goredis.Client, error) {
	var cl *goredis.Client
	if err := readyServer(r, c, n, &cl).Await(ctx, pid); err != nil {
		return nil, err
	}
	return cl, nil
}

// readyServer is serverProcess, ready once the server answers on its
// socket as the internal user and has loaded its dataset; *cl is then a
// client of that user.
func readyServer(r *proc.Runner, c *engine.Cluster, n *engine.Node, cl **goredis.Client) *proc.Daemon {
	p := nodePaths(n)
	dm := serverProcess(r, n)
	dm.Ready = func(ctx context.Context, _ int) error {
		conn, err := connectInternal(ctx, c, unixEndpoint(p.serverSock), creds(r, c, p), tenantServerRules)
		if errors.Is(err, errAuth) {
			return proc.Permanent(fmt.Errorf("redis-server runs but %w", err))
		}
		if err != nil {
			return err
		}
		if err := waitLoaded(ctx, conn); err != nil {
			_ = conn.Close()
			return proc.Permanent(err)
		}
		*cl = conn
		return nil
	}
	return dm
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
		case <-time.After(proc.Poll):
		}
	}
}

// stopServer stops node n's server (it saves its dataset on the way out).
func stopServer(ctx context.Context, r *proc.Runner, n *engine.Node) {
	_, _ = serverProcess(r, n).Stop(ctx)
}

// privateStart returns the arguments of /bin/sh that run a Redis binary
// under umask 077: the files Redis writes itself (dump.rdb, the AOF, logs,
// and the config files Sentinel and CONFIG REWRITE rewrite with passwords in
// them) are then readable by the engine user only.
func privateStart(bin string, args ...string) []string {
	return append([]string{"-c", `umask 077 && exec "$0" "$@"`, bin}, args...)
}
