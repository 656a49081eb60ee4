package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Modes of a driver.
const (
	ModeNative = "native" // semi-synchronous replication (engine.MySQLNative)
	ModeSync   = "sync"   // Galera (engine.MySQL)
)

// Options configure a driver.
type Options struct {
	// Mode is ModeNative or ModeSync.
	Mode string
	// TemplateDir is where the driver keeps the initialized data directory
	// it copies for new servers (and its cached catalog).
	TemplateDir string
	// Runner runs commands and daemons as the engines' OS user; nil means
	// proc.Default().
	Runner *proc.Runner
	// Logger receives what the driver does; nil discards.
	Logger *slog.Logger
}

// Driver is the MariaDB engine driver. It is safe for concurrent use on
// different clusters.
type Driver struct {
	mode        string
	name        string
	templateDir string
	runner      *proc.Runner
	runnerErr   error
	log         *slog.Logger

	// Objects runs users, databases and grants on the writer node.
	Objects

	templateMu sync.Mutex // guards building the template in this process
	catalogMu  sync.Mutex
	catalog    *engine.Catalog
	infoMu     sync.Mutex
	info       *engine.Info

	// plainGalera makes Galera clusters run without TLS, as dbaasd
	// versions before it did: for the test of moving such a cluster to TLS.
	plainGalera bool
}

var (
	_ engine.Driver          = (*Driver)(nil)
	_ engine.UserManager     = (*Driver)(nil)
	_ engine.DatabaseManager = (*Driver)(nil)
)

// New returns a driver. An unknown mode is reported by every call.
func New(opts Options) *Driver {
	d := &Driver{mode: opts.Mode, templateDir: opts.TemplateDir, runner: opts.Runner, log: opts.Logger}
	switch opts.Mode {
	case ModeNative:
		d.name = engine.MySQLNative
	case ModeSync:
		d.name = engine.MySQL
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("engine", d.name)
	if d.runner == nil {
		d.runner, d.runnerErr = proc.Default()
	}
	d.Objects = Objects{Write: func(ctx context.Context, c *engine.Cluster, fn func(db *sql.DB) error) error {
		return d.withWriter(ctx, c, func(db *dbConn) error { return fn(db.DB) })
	}}
	return d
}

// account is the runner of the cluster's own OS account, created when
// missing (see proc.Runner.ForCluster).
func (d *Driver) account(c *engine.Cluster) (*proc.Runner, error) {
	r, err := d.runner.ForCluster(c.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	return r, nil
}

// Name is the engine name this driver serves.
func (d *Driver) Name() string { return d.name }

// check reports a misconfigured driver.
func (d *Driver) check() error {
	if d.name == "" {
		return fmt.Errorf("mysql driver: unknown mode %q (want %q or %q)", d.mode, ModeNative, ModeSync)
	}
	if d.runnerErr != nil {
		return fmt.Errorf("mysql driver: %w", d.runnerErr)
	}
	if d.templateDir == "" {
		return errors.New("mysql driver: no template directory configured")
	}
	return nil
}

// checkCluster validates what the driver needs from a cluster.
func (d *Driver) checkCluster(c *engine.Cluster) error {
	if err := d.check(); err != nil {
		return err
	}
	if c.Engine != "" && c.Engine != d.name {
		return fmt.Errorf("cluster %s is a %s cluster, this driver serves %s: %w", c.ID, c.Engine, d.name, engine.ErrInvalid)
	}
	if len(c.Nodes) == 0 {
		return fmt.Errorf("cluster %s has no nodes: %w", c.ID, engine.ErrInvalid)
	}
	if c.AdminPassword == "" {
		return fmt.Errorf("cluster %s has no admin password: %w", c.ID, engine.ErrInvalid)
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if n.Dir == "" || n.ID == "" || n.Host == "" || n.Port == 0 {
			return fmt.Errorf("node %q of cluster %s lacks an ID, directory, host or port: %w", n.ID, c.ID, engine.ErrInvalid)
		}
		if seen[n.Dir] {
			return fmt.Errorf("two nodes of cluster %s share directory %s: %w", c.ID, n.Dir, engine.ErrInvalid)
		}
		seen[n.Dir] = true
	}
	if d.mode == ModeNative && c.Master() == nil {
		return fmt.Errorf("cluster %s has no %s node: %w", c.ID, engine.RoleMaster, engine.ErrInvalid)
	}
	return nil
}

// Ensure makes the cluster's servers exist, run, replicate and carry the
// desired flavor, configuration and firewall; it adopts running servers and
// repairs what is missing.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if err := d.checkCluster(c); err != nil {
		return err
	}
	if c.Version != "" {
		info, err := d.Info(ctx)
		if err != nil {
			return err
		}
		if c.Version != info.Version && c.Version != info.Full {
			return fmt.Errorf("cluster %s wants version %s, installed is %s: %w", c.ID, c.Version, info.Full, engine.ErrInvalid)
		}
	}
	if err := d.ensureTemplate(ctx); err != nil {
		return err
	}
	vars, err := d.userVars(ctx, c.Config)
	if err != nil {
		return err
	}
	nodes, err := d.prepareNodes(ctx, c)
	if err != nil {
		return err
	}
	switch {
	case d.mode == ModeNative:
		err = d.ensureNative(ctx, c, nodes, vars)
	case len(nodes) == 1:
		err = d.ensureSingle(ctx, c, nodes[0], vars)
	default:
		err = d.ensureGalera(ctx, c, nodes, vars)
	}
	if err != nil {
		return err
	}
	if err := d.removeUndesired(ctx, nodes[0].r, c); err != nil {
		return err
	}
	return d.withWriter(ctx, c, func(db *dbConn) error {
		if err := dropSocketAccounts(ctx, db.DB); err != nil {
			return err
		}
		return ReconcileFirewall(ctx, db.DB, c)
	})
}

// Stop stops every server of the cluster (replicas first), keeping data.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	if err := d.check(); err != nil {
		return err
	}
	r, err := d.account(c)
	if err != nil {
		return err
	}
	nodes := d.allNodes(r, c)
	// Replicas (and nodes that are no longer wanted) first, the primary
	// last: in a semi-sync cluster the replicas then hold everything; in a
	// Galera cluster the last node keeps safe_to_bootstrap.
	var errs []error
	for _, last := range []bool{false, true} {
		for _, n := range nodes {
			if (n.Role == engine.RoleMaster) != last {
				continue
			}
			if err := d.stopNode(ctx, n, stopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Destroy stops every server of the cluster and removes its directories.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	if err := d.check(); err != nil {
		return err
	}
	if c.ArchiveDir != "" && len(c.Nodes) > 0 {
		// The archive outlives the cluster: it gets the last logs first.
		if _, err := d.SyncArchive(ctx, c, true); err != nil {
			d.log.Warn("could not archive the last binary logs before removing the servers", "datastore_id", c.ID, "error", err)
		}
	}
	r, err := d.account(c)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range d.allNodes(r, c) {
		if err := d.removeNode(ctx, n, destroyGrace); err != nil {
			errs = append(errs, err)
		}
	}
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", c.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return d.runner.ReleaseCluster(c.ID, c.ArchiveDir)
}

// PIDs returns the process IDs of a node's server (empty when it does not
// run), for supervision and tests.
func (d *Driver) PIDs(c *engine.Cluster, n *engine.Node) []int {
	if pid := serverPID(newNode(d.runner.Existing(c.ID), *n)); pid > 0 {
		return []int{pid}
	}
	return nil
}
