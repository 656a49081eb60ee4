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
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		return err
	}
	return d.stop(ctx, e, c)
}

func (d *Driver) stop(ctx context.Context, e *env, c *engine.Cluster) error {
	d.forget(c)
	errs := []error{d.stopPooler(ctx, e, c)}
	for _, p := range clusterNodes(c) {
		errs = append(errs, d.stopServer(ctx, e, p))
	}
	return errors.Join(errs...)
}

// Destroy stops every process of the cluster, removes its directories and
// ends its OS account (its archive, kept for restores, goes to root).
// Destroying a destroyed cluster does nothing.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		return err
	}
	if err := d.stop(ctx, e, c); err != nil {
		return err
	}
	var errs []error
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
