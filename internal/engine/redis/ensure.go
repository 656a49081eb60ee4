package redis

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// replicaWait bounds how long Ensure waits for a replica to reach its master.
const replicaWait = 30 * time.Second

// validate checks what Ensure needs of a cluster.
func validate(c *engine.Cluster) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: a Redis cluster needs at least one node", engine.ErrInvalid)
	}
	if err := CheckPassword(c.Password); err != nil {
		return err
	}
	if err := checkFirewall(c.Firewall); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		switch {
		case n.ID == "" || n.Dir == "":
			return fmt.Errorf("node %q: needs an ID and a directory", n.ID)
		case n.Port <= 0 || n.Port > 65535:
			return fmt.Errorf("node %s: invalid port %d", n.ID, n.Port)
		case seen[n.ID]:
			return fmt.Errorf("node %s listed twice", n.ID)
		}
		seen[n.ID] = true
	}
	return nil
}

// Ensure converges the cluster: every node's server runs with the desired
// config, replicas replicate from the master, sentinels watch them (when
// there is more than one node), the firewall is enforced, and nodes the
// cluster no longer lists are removed. It returns when the master answers
// and every replica is connected to it (or copying its dataset).
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if err := validate(c); err != nil {
		return err
	}
	r, err := d.run(c)
	if err != nil {
		return err
	}
	if c.Dir == "" {
		return fmt.Errorf("cluster %s has no directory", c.ID)
	}
	if err := claimDirs(r, c); err != nil {
		return err
	}

	// Record the nodes before creating anything, so that a crash leaves
	// nothing unknown behind.
	reg, err := readRegistry(c)
	if err != nil {
		return err
	}
	stale := staleNodes(c, reg)
	if err := writeRegistry(r, c, mergeRegistry(reg, c.Nodes)); err != nil {
		return err
	}
	// Sentinels of departing nodes must not vote while the cluster changes.
	for i := range stale {
		stopSentinel(&stale[i])
	}

	// Decide the master from what runs (see effectiveMaster), after any
	// failover Sentinel is carrying out.
	waitFailovers(ctx, c)
	infos := map[string]replInfo{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if runningPid(nodePaths(n).serverPid, serverWords...) == 0 {
			continue
		}
		if ri, err := readRepl(ctx, c, n); err == nil {
			infos[n.ID] = ri
		}
	}
	master := effectiveMaster(c, infos, sentinelVotes(ctx, c, c.Nodes))

	// Servers: a master that does not run yet starts first, so that its
	// replicas find it; a running one is changed last, so that a restart a
	// parameter needs hits the replicas before the node taking writes.
	order := []*engine.Node{master}
	var replicas []*engine.Node
	for i := range c.Nodes {
		if c.Nodes[i].ID != master.ID {
			order = append(order, &c.Nodes[i])
			replicas = append(replicas, &c.Nodes[i])
		}
	}
	serverOrder := order
	if _, running := infos[master.ID]; running {
		serverOrder = append(replicas, master)
	}
	fw := firewalled(c)
	for _, n := range serverOrder {
		if !fw {
			d.stopForwarder(c, n, true) // frees Host:Port for the server
		}
		var from *engine.Node
		if n.ID != master.ID {
			from = master
		}
		sc, err := buildServerConf(c, n, from, c.Password)
		if err != nil {
			return err
		}
		if err := d.ensureServer(ctx, c, n, sc); err != nil {
			return err
		}
		if fw {
			if _, err := d.ensureForwarder(ctx, c, n); err != nil {
				return err
			}
		}
	}
	for _, n := range order {
		if err := d.ensureRole(ctx, c, n, master); err != nil {
			return err
		}
	}

	// Sentinels watch clusters with replicas.
	for _, n := range order {
		if len(c.Nodes) > 1 {
			if err := d.ensureSentinel(ctx, c, n, master); err != nil {
				return err
			}
		} else if _, err := d.removeSentinel(c, n); err != nil {
			return err
		}
	}
	if fw {
		// Now that sentinel ports are known and free, the forwarders get
		// their final routes.
		for _, n := range order {
			hash, err := d.ensureForwarder(ctx, c, n)
			if err != nil {
				return err
			}
			if err := waitForwarder(ctx, n, hash); err != nil {
				return err
			}
		}
	}

	// Remove the nodes the cluster no longer lists.
	if len(stale) > 0 {
		for i := range stale {
			if err := d.removeNode(c, &stale[i]); err != nil {
				return err
			}
		}
		if err := writeRegistry(r, c, mergeRegistry(nil, c.Nodes)); err != nil {
			return err
		}
		if len(c.Nodes) > 1 {
			for i := range c.Nodes {
				if err := resetSentinel(ctx, c, &c.Nodes[i]); err != nil {
					return err
				}
			}
		}
	}

	for _, n := range order[1:] {
		if err := waitReplicating(ctx, c, n, replicaWait); err != nil {
			return err
		}
	}
	return nil
}

// mergeRegistry returns reg with the nodes added or updated.
func mergeRegistry(reg []registeredNode, nodes []engine.Node) []registeredNode {
	idx := map[string]int{}
	out := append([]registeredNode{}, reg...)
	for i, rn := range out {
		idx[rn.ID] = i
	}
	for _, n := range nodes {
		rn := registeredNode{ID: n.ID, Host: n.Host, Port: n.Port, Dir: n.Dir}
		if i, ok := idx[n.ID]; ok {
			out[i] = rn
		} else {
			out = append(out, rn)
		}
	}
	return out
}

// removeNode stops every process of a node and deletes its directory.
func (d *Driver) removeNode(c *engine.Cluster, n *engine.Node) error {
	stopSentinel(n)
	d.stopForwarder(c, n, false)
	stopServer(n)
	if n.Dir == "" {
		return nil
	}
	r, err := d.run(c)
	if err != nil {
		return err
	}
	if err := r.RemoveAll(n.Dir); err != nil {
		return fmt.Errorf("remove node %s: %w", n.ID, err)
	}
	if rd := n.SocketDir(); c.RunDir != "" && filepath.Dir(rd) == filepath.Clean(c.RunDir) {
		if err := r.RemoveAll(rd); err != nil {
			return fmt.Errorf("remove node %s: %w", n.ID, err)
		}
	}
	d.log.Info("removed redis node", "cluster", c.ID, "node", n.ID)
	return nil
}
