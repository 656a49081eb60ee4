package redis

// No confirmed write lost.
//
// Redis replicates asynchronously: a write is safe from the loss of its
// master once a replica has it (WAIT). When a master dies, the data that
// counts is therefore on the replicas, and the master's own files (the
// last RDB snapshot) are older — or absent. Ensure never starts a master
// that is not running as the master while a running replica holds data at
// least as new; the replica takes over instead, through the sentinels:
//
//  1. every sentinel runs: a dead one is restarted first (a majority of
//     the cluster's sentinels must agree before they fail over, and a
//     restarted sentinel knows the replicas and the other sentinels from
//     its regenerated config, so it takes part at once);
//  2. the sentinels see the master down and elect a replica;
//  3. if they have not done so after down-after-milliseconds and a few
//     seconds, dbaasd asks a running sentinel to fail over (SENTINEL
//     FAILOVER): the master's process is verifiably gone, and Sentinel
//     still picks the replica and publishes the new configuration to the
//     others with a new epoch.
//
// The old master then starts as a replica of the new one and copies its
// data. A master is restarted as the master only when its RDB file is
// strictly ahead of every running replica in the same replication history
// (a replica that was far behind), or when no replica runs; when no server
// runs at all, the node whose RDB file is furthest ahead starts first.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

var _ engine.SelfFailover = (*Driver)(nil)

// FailoverGrace implements engine.SelfFailover: Sentinel declares a master
// down after down-after-milliseconds and then needs about a second to
// elect and promote a replica; a single node has no Sentinel to wait for.
func (d *Driver) FailoverGrace(c *engine.Cluster) time.Duration {
	if len(c.Nodes) < 2 {
		return 0
	}
	return time.Duration(downAfterMs)*time.Millisecond + 4*time.Second
}

// newerReplica returns the running replica that must take over from
// master, which does not run, or nil when master may be restarted as the
// master (no replica runs, or master's RDB file is strictly ahead of the
// most advanced one in the same history).
func newerReplica(r *proc.Runner, c *engine.Cluster, master *engine.Node, infos map[string]replInfo) *engine.Node {
	var best *engine.Node
	for i := range c.Nodes {
		n := &c.Nodes[i]
		ri, ok := infos[n.ID]
		if !ok || n.ID == master.ID || ri.role != "slave" {
			continue
		}
		if best == nil || ri.offset > infos[best.ID].offset {
			best = n
		}
	}
	if best == nil {
		return nil
	}
	bi := infos[best.ID]
	pm := readPersisted(r, nodePaths(master))
	switch {
	case pm.exists && bi.offset <= 0:
		return nil // the replica never copied anything
	case pm.replid != "" && pm.replid == bi.replid && pm.offset > bi.offset:
		return nil // the master's file is ahead
	}
	return best
}

// newestStopped returns the node to start as the master when no server
// runs: master, unless another node's RDB file is ahead of master's in the
// same history, or master has none and another node has one.
func newestStopped(r *proc.Runner, c *engine.Cluster, master *engine.Node) *engine.Node {
	best, bp := master, readPersisted(r, nodePaths(master))
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.ID == master.ID {
			continue
		}
		np := readPersisted(r, nodePaths(n))
		switch {
		case !bp.exists && np.exists,
			np.replid != "" && np.replid == bp.replid && np.offset > bp.offset:
			best, bp = n, np
		}
	}
	return best
}

// failoverTo has the sentinels promote a replica in place of old, whose
// server does not run (see the package comment above), and returns the
// promoted node.
func (d *Driver) failoverTo(ctx context.Context, r *proc.Runner, c *engine.Cluster, old, best *engine.Node) (*engine.Node, error) {
	d.log.Warn("redis master is down and a replica holds newer data: failing over instead of restarting it",
		"datastore_id", c.ID, "master", old.ID, "replica", best.ID)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if sentinelProcess(r, n).Running() == 0 {
			if err := d.ensureSentinel(ctx, c, n, old); err != nil {
				return nil, err
			}
		}
	}
	promoted := func() *engine.Node {
		for i := range c.Nodes {
			n := &c.Nodes[i]
			if n.ID == old.ID {
				continue
			}
			if ri, err := readRepl(ctx, r, c, n); err == nil && ri.role == "master" {
				return n
			}
		}
		return nil
	}
	forceAt := time.Now().Add(time.Duration(downAfterMs)*time.Millisecond + 3*time.Second)
	deadline := forceAt.Add(2 * failoverTimeoutMs * time.Millisecond)
	var lastForce time.Time
	var forceErr error
	for {
		if n := promoted(); n != nil {
			d.log.Warn("redis replica promoted", "datastore_id", c.ID, "master", n.ID, "forced", !lastForce.IsZero())
			return n, nil
		}
		if now := time.Now(); now.After(forceAt) && now.Sub(lastForce) > time.Second {
			lastForce = now
			forceErr = d.forceFailover(ctx, r, c)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("node %s (the master) is down and node %s holds newer data, but no replica was promoted (last SENTINEL FAILOVER: %v)",
				old.ID, best.ID, forceErr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// forceFailover asks the first running sentinel that accepts to fail over.
func (d *Driver) forceFailover(ctx context.Context, r *proc.Runner, c *engine.Cluster) error {
	var errs []string
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if sentinelProcess(r, n).Running() == 0 {
			continue
		}
		cl, _, err := connectSentinel(ctx, r, c, n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		err = cl.Do(ctx, "SENTINEL", "FAILOVER", MasterName).Err()
		_ = cl.Close()
		if err == nil || strings.Contains(err.Error(), "INPROG") {
			d.log.Warn("asked redis sentinel to fail over", "datastore_id", c.ID, "sentinel", n.ID)
			return nil
		}
		errs = append(errs, fmt.Sprintf("sentinel of node %s: %v", n.ID, err))
	}
	if len(errs) == 0 {
		return fmt.Errorf("no sentinel runs")
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}
