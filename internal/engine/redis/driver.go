// Package redis is the local Redis engine driver: it runs every node of a
// cluster as a redis-server daemon on this machine, watched by one
// redis-sentinel per node when the cluster has replicas, and enforces the
// cluster's firewall with a small forwarding process of its own.
//
// What the package owns, per node, under Node.Dir:
//
//	redis.conf       the server's config, generated (0600; users' passwords hashed, the internal secret)
//	sentinel.conf    the sentinel's config (multi-node clusters; Sentinel rewrites it)
//	forwarder.json   the firewall forwarder's routes and allow-list (firewalled clusters)
//	state.json       what the driver recorded for the node (its sentinel's port, ...)
//	data/            dump.rdb and appendonlydir
//	log/             redis.log, sentinel.log, forwarder.log
//
// and under Node.SocketDir() (the short runtime directory) the pid files and
// Unix sockets. Every file is the cluster's OS account's: the driver reads
// and writes them as that account (proc.Runner.As) and signals a process
// only when it runs as that account.
//
// and, per cluster, <Cluster.Dir>/redis-nodes.json: the nodes the driver has
// created, so that scaling down and Destroy find nodes the caller no longer lists.
//
// The driver never puts a password on a command line or in a log: servers and
// sentinels read it from their 0600 config files, and the driver talks to
// them over go-redis, authenticating on the connection.
//
// Decisions worth knowing (details in the files that implement them):
//   - maxmemory defaults to 75% of the flavor's RAM (see conf.go).
//   - The tenant's password is Redis's default user, which cannot change
//     what dbaasd manages; dbaasd, replicas and sentinels use an internal
//     user with a secret of its own (see auth.go).
//   - The driver's own connections use each node's Unix socket, so they work
//     whatever the firewall and listening mode.
//   - Ensure follows Sentinel: the master is the node a majority of the
//     sentinels agree on; Node.Role only decides when they have no opinion
//     (see replication.go). It never restarts a master over a replica with
//     newer data (see failover.go).
//   - Sentinels listen on ports dbaasd allocates (engine.PortNeeder).
//   - The firewall is a forwarding process, not iptables (see firewall.go).
package redis

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// MasterName is the name the sentinels of every cluster monitor their master
// under (each cluster has its own sentinels, so one name serves all).
const MasterName = "dbaasd"

// ForwarderSubcommand is the dbaasd subcommand that must call RunForwarder
// with the remaining arguments; the driver starts forwarders as
// `<dbaasd executable> redis-forwarder -config … -pidfile …` by default.
const ForwarderSubcommand = "redis-forwarder"

// Options configure the driver.
type Options struct {
	// Runner runs engine processes; nil means proc.Default().
	Runner *proc.Runner
	// Logger receives one line per change the driver makes; nil discards.
	Logger *slog.Logger
	// ForwarderCommand is the command (and leading arguments) that runs
	// RunForwarder; nil means the current executable with ForwarderSubcommand.
	// It must be executable by the engines' OS user.
	ForwarderCommand []string
	// ForwarderEnv is extra environment for forwarder processes.
	ForwarderEnv []string
}

// Driver is the local Redis engine driver. It is safe for concurrent use on
// different clusters.
type Driver struct {
	opts Options
	log  *slog.Logger

	runnerOnce sync.Once
	runner     *proc.Runner
	runnerErr  error

	catalogMu sync.Mutex
	catalog   *engine.Catalog
	defaults  map[string]string // the server's own value of each catalog parameter
}

var (
	_ engine.Driver         = (*Driver)(nil)
	_ engine.PasswordSetter = (*Driver)(nil)
	_ engine.PortNeeder     = (*Driver)(nil)
)

// NodePorts implements engine.PortNeeder: every node gets a port for its
// sentinel, used once the cluster has replicas (so that growing a cluster
// needs no new allocation).
func (d *Driver) NodePorts(*engine.Cluster) []string { return []string{sentinelPortName} }

// New returns a driver.
func New(opts Options) *Driver {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Driver{opts: opts, log: l.With("engine", engine.Redis)}
}

// base returns the driver's runner: scratch servers for the catalog and
// version checks run with it.
func (d *Driver) base() (*proc.Runner, error) {
	d.runnerOnce.Do(func() {
		if d.opts.Runner != nil {
			d.runner = d.opts.Runner
			return
		}
		d.runner, d.runnerErr = proc.Default()
	})
	return d.runner, d.runnerErr
}

// run returns the runner of the cluster's own OS account (created when
// missing): every process of the cluster runs as it, and every file
// operation in its directories is done as it.
func (d *Driver) run(c *engine.Cluster) (*proc.Runner, error) {
	r, err := d.base()
	if err != nil {
		return nil, err
	}
	acc, err := r.ForCluster(c.ID)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return acc, nil
}

// existing returns the runner of the cluster's OS account without creating
// it (see proc.Runner.Existing), for what only looks: Observe, Sample.
func (d *Driver) existing(c *engine.Cluster) (*proc.Runner, error) {
	r, err := d.base()
	if err != nil {
		return nil, err
	}
	return r.Existing(c.ID), nil
}

// serverBinary finds redis-server.
func serverBinary() (string, error) {
	return proc.FindBinary("redis-server")
}

// sentinelCommand returns the command that runs a sentinel with a config
// file: redis-sentinel when installed, else redis-server --sentinel.
func sentinelCommand(conf string) (string, []string, error) {
	if p, err := proc.FindBinary("redis-sentinel"); err == nil {
		return p, []string{conf}, nil
	}
	p, err := serverBinary()
	if err != nil {
		return "", nil, err
	}
	return p, []string{conf, "--sentinel"}, nil
}

var versionRe = regexp.MustCompile(`v=(\d+)\.(\d+)(\.\d+)?`)

// Info reports the installed redis-server version.
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	bin, err := serverBinary()
	if err != nil {
		return engine.Info{}, err
	}
	r, err := d.base()
	if err != nil {
		return engine.Info{}, err
	}
	out, err := r.Run(ctx, bin, "--version")
	if err != nil {
		return engine.Info{}, fmt.Errorf("redis version: %w", err)
	}
	return parseVersion(string(out))
}

// parseVersion reads `redis-server --version` output.
func parseVersion(out string) (engine.Info, error) {
	m := versionRe.FindStringSubmatch(out)
	if m == nil {
		return engine.Info{}, fmt.Errorf("redis version: cannot parse %q", strings.TrimSpace(out))
	}
	return engine.Info{
		Engine:  engine.Redis,
		Version: m[1] + "." + m[2],
		Full:    m[1] + "." + m[2] + m[3],
	}, nil
}

// forwarderCommand returns the command that runs RunForwarder.
func (d *Driver) forwarderCommand() ([]string, error) {
	if len(d.opts.ForwarderCommand) > 0 {
		return d.opts.ForwarderCommand, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find dbaasd executable for the redis forwarder: %w", err)
	}
	return []string{exe, ForwarderSubcommand}, nil
}
