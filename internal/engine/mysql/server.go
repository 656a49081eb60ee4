package mysql

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// seedFunc gives a node without data its initial data directory.
type seedFunc func(ctx context.Context) error

// ensureServer makes one node's server run with cfg: it writes my.cnf,
// seeds the data directory when there is none, starts the server when it is
// down (with extra arguments), and otherwise adopts the running server and
// applies the configuration to it. It reports whether the running server
// still needs a restart for variables that are not dynamic.
func (d *Driver) ensureServer(ctx context.Context, c *engine.Cluster, n *node, cfg serverConfig, galera bool, seed seedFunc, extra ...string) (restart bool, err error) {
	want := cfg.merged()
	if err := d.writeConfig(n, cfg); err != nil {
		return false, err
	}
	pid := serverPID(n)
	if pid == 0 {
		if !n.hasData() && seed != nil {
			if err := seed(ctx); err != nil {
				return false, err
			}
		}
		if !galera {
			forgetGalera(n)
		}
		n.st.Applied = want
		if err := d.saveState(n); err != nil {
			return false, err
		}
		return false, d.startServer(ctx, c, n, galera, extra...)
	}
	if err := d.waitReady(ctx, c, n, pid, galera); err != nil {
		return false, err
	}
	db := connect(c, n)
	defer func() { _ = db.Close() }()
	return d.applyConfig(ctx, db.DB, n, want)
}

// restartServer restarts a running node with its my.cnf.
func (d *Driver) restartServer(ctx context.Context, c *engine.Cluster, n *node, want map[string]string, galera bool, extra ...string) error {
	d.log.Info("restarting mariadbd to apply configuration", "datastore_id", c.ID, "node", n.ID)
	if err := d.stopNode(ctx, n, stopGrace); err != nil {
		return err
	}
	if !galera {
		forgetGalera(n)
	}
	n.st.Applied = want
	if err := d.saveState(n); err != nil {
		return err
	}
	return d.startServer(ctx, c, n, galera, extra...)
}

// forgetGalera removes a node's Galera state when it starts as a plain
// server: writes made without Galera are not covered by the saved
// position, so a later cluster must start anew from this data.
func forgetGalera(n *node) {
	for _, f := range []string{"grastate.dat", "gvwstate.dat"} {
		_ = n.r.Remove(filepath.Join(n.dataDir(), f))
	}
}

// ensureSingle converges a one-node synchronous cluster: a plain server.
func (d *Driver) ensureSingle(ctx context.Context, c *engine.Cluster, n *node, user map[string]string) error {
	cfg := d.configFor(c, n, user, nil)
	seed := func(ctx context.Context) error { return d.seedFromTemplate(ctx, c.AdminPassword, n) }
	restart, err := d.ensureServer(ctx, c, n, cfg, false, seed)
	if err != nil {
		return err
	}
	if restart {
		return d.restartServer(ctx, c, n, cfg.merged(), false)
	}
	return nil
}

// withWriter runs fn with an admin connection to a node that takes writes:
// the primary of a semi-sync cluster, any synced node of a Galera cluster.
func (d *Driver) withWriter(ctx context.Context, c *engine.Cluster, fn func(db *dbConn) error) error {
	if err := d.checkCluster(c); err != nil {
		return err
	}
	var candidates []*node
	r := d.runner.Existing(c.ID)
	if d.mode == ModeNative {
		m := *c.Master()
		candidates = []*node{newNode(r, m)}
	} else {
		for _, en := range c.Nodes {
			candidates = append(candidates, newNode(r, en))
		}
	}
	galera := d.mode == ModeSync && len(c.Nodes) > 1
	var errs []error
	for _, n := range candidates {
		db := connect(c, n)
		err := probe(ctx, db.DB, galera)
		if err == nil {
			err = fn(db)
			_ = db.Close()
			return err
		}
		_ = db.Close()
		errs = append(errs, fmt.Errorf("node %s: %w", n.ID, err))
	}
	return fmt.Errorf("no writable node in cluster %s: %v", c.ID, errs)
}
