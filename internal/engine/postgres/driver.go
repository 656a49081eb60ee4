package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"os/user"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/conncache"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Options configure a Driver.
type Options struct {
	// TemplateDir holds the prepared initdb templates (one per installed
	// PostgreSQL version) and their cached catalogs; all clusters share it.
	TemplateDir string
	// Runner runs commands and servers as the engines' OS user; nil means
	// proc.Default().
	Runner *proc.Runner
	// Logger receives what the driver does; nil means slog.Default().
	Logger *slog.Logger
	// DiskBytesPerGB is how many bytes one GB of Flavor.DiskGB stands for
	// when deciding that a node's disk is full; 0 means 1 GiB. Only tests
	// change it, to fill a "disk" in seconds.
	DiskBytesPerGB int64
	// TemplateStreamWait bounds how long a replica made from the template
	// may take to stream from its primary before it is rebuilt with
	// pg_basebackup; 0 means 30 s. Only tests change it.
	TemplateStreamWait time.Duration
}

// Driver is the local PostgreSQL engine. It is safe for concurrent use on
// different clusters.
type Driver struct {
	opts      Options
	runner    *proc.Runner
	runnerErr error
	// selfUser is the OS user dbaasd runs as, which connects to the
	// servers' Unix sockets (see renderIdent).
	selfUser string
	log      *slog.Logger

	mu       sync.Mutex
	installs map[string]*install       // by requested major version ("" = default)
	catalogs map[string]engine.Catalog // by full version

	templateMu sync.Mutex
	catalogMu  sync.Mutex

	// probes keeps a connection open to every node observed (see onProbe);
	// sizes remembers measured data sizes (see dataSize).
	probes *conncache.Cache[*pgx.Conn]
	sizes  sizeCache
}

var (
	_ engine.Driver           = (*Driver)(nil)
	_ engine.UserManager      = (*Driver)(nil)
	_ engine.DatabaseManager  = (*Driver)(nil)
	_ engine.ExtensionManager = (*Driver)(nil)
	_ engine.SlotManager      = (*Driver)(nil)
)

// New returns a driver. Errors finding the engine user are reported by the
// first call that needs it.
func New(opts Options) *Driver {
	d := &Driver{
		opts:     opts,
		runner:   opts.Runner,
		log:      opts.Logger,
		installs: map[string]*install{},
		catalogs: map[string]engine.Catalog{},
		probes:   newProbes(),
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.log = d.log.With("engine", engine.PostgreSQL)
	if d.runner == nil {
		d.runner, d.runnerErr = proc.Default()
	}
	if u, err := user.Current(); err == nil {
		d.selfUser = u.Username
	}
	return d
}

// env is what every operation on a cluster needs.
type env struct {
	// r runs the cluster's processes, as the cluster's own OS account (the
	// driver's runner for operations that belong to no cluster).
	r *proc.Runner
	// base is the driver's runner: templates and catalogs shared by every
	// cluster belong to it.
	base *proc.Runner
	inst *install
}

func (d *Driver) env(ctx context.Context, version string) (*env, error) {
	if d.runnerErr != nil {
		return nil, fmt.Errorf("postgresql: engine user: %w", d.runnerErr)
	}
	inst, err := d.install(ctx, version)
	if err != nil {
		return nil, err
	}
	return &env{r: d.runner, base: d.runner, inst: inst}, nil
}

// clusterEnv is env for operations on one cluster: its processes run as
// the cluster's own OS account.
func (d *Driver) clusterEnv(ctx context.Context, c *engine.Cluster) (*env, error) {
	e, err := d.env(ctx, c.Version)
	if err != nil {
		return nil, err
	}
	if e.r, err = d.runner.ForCluster(c.ID); err != nil {
		return nil, fmt.Errorf("postgresql: %w", err)
	}
	return e, nil
}

// Info reports the installed PostgreSQL (the newest one when several are).
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	e, err := d.env(ctx, "")
	if err != nil {
		return engine.Info{}, err
	}
	return engine.Info{Engine: engine.PostgreSQL, Version: e.inst.major, Full: e.inst.full}, nil
}
