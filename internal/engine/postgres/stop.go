package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Stop stops the cluster's pooler and servers (replicas first, the primary
// last), keeping their data. Stopping a stopped cluster does nothing.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	e, err := d.env(ctx, c.Version)
	if err != nil {
		return err
	}
	errs := []error{d.stopPooler(c)}
	for _, p := range clusterNodes(c) {
		errs = append(errs, d.stopServer(ctx, e, p))
	}
	return errors.Join(errs...)
}

// Destroy stops every process of the cluster and removes its node
// directories, /tmp socket directories and the cluster directory.
// Destroying a destroyed cluster does nothing.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	if err := d.Stop(ctx, c); err != nil {
		return err
	}
	var errs []error
	for _, p := range clusterNodes(c) {
		errs = append(errs, removeSocketDir(p))
		if err := os.RemoveAll(p.dir); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", p.id, err))
		}
	}
	errs = append(errs, removePoolerFiles(c))
	if c.Dir != "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", c.ID, err))
		}
	}
	d.mu.Lock()
	delete(d.authReady, c.ID)
	d.mu.Unlock()
	return errors.Join(errs...)
}

// clusterNodes lists every node of a cluster, desired or left over under
// <c.Dir>/nodes: replicas first, the desired master last.
func clusterNodes(c *engine.Cluster) []nodePaths {
	var out []nodePaths
	var master *nodePaths
	desired := map[string]bool{}
	for i := range c.Nodes {
		p := pathsOf(&c.Nodes[i])
		desired[filepath.Clean(p.dir)] = true
		if c.Nodes[i].Role == engine.RoleMaster {
			master = &p
			continue
		}
		out = append(out, p)
	}
	if c.Dir != "" {
		out = append(out, staleNodes(c, desired)...)
	}
	if master != nil {
		out = append(out, *master)
	}
	return out
}
