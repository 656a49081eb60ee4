package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// allNodes returns the cluster's nodes and the registered ones it no longer
// lists (a scale-down interrupted before it removed them).
func allNodes(r *proc.Runner, c *engine.Cluster) []engine.Node {
	nodes := append([]engine.Node{}, c.Nodes...)
	reg, _ := readRegistry(r, c)
	return append(nodes, staleNodes(c, reg)...)
}

// Stop stops every process of the cluster, keeping its data: the sentinels
// first (so that they do not fail over while the servers stop), then the
// forwarders, then the servers, which save their dataset as they exit.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	r, err := d.existing(c)
	if err != nil {
		return err
	}
	nodes := allNodes(r, c)
	for i := range nodes {
		stopSentinel(ctx, r, &nodes[i])
	}
	for i := range nodes {
		d.stopForwarder(ctx, r, c, &nodes[i], false)
	}
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func(n *engine.Node) {
			defer wg.Done()
			stopServer(ctx, r, n)
		}(&nodes[i])
	}
	wg.Wait()
	d.log.Info("stopped redis cluster", "datastore_id", c.ID)
	return ctx.Err()
}

// Destroy stops every process of the cluster, removes its directories and
// ends its OS account.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	if err := d.Stop(ctx, c); err != nil {
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
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	r, err := d.base()
	if err != nil {
		return err
	}
	if err := r.ReleaseCluster(c.ID, c.ArchiveDir); err != nil {
		return err
	}
	d.log.Info("destroyed redis cluster", "datastore_id", c.ID)
	return nil
}
