package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
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
	if c.AdminPassword == "" {
		return fmt.Errorf("cluster %s: no admin secret to derive the internal user's password from", c.ID)
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
	reg, err := readRegistry(r, c)
	if err != nil {
		return err
	}
	stale := staleNodes(c, reg)
	if err := writeRegistry(r, c, mergeRegistry(reg, c.Nodes)); err != nil {
		return err
	}
	// Sentinels of departing nodes must not vote while the cluster changes.
	for i := range stale {
		stopSentinel(ctx, r, &stale[i])
	}

	// Forwarders first (firewalled clusters): replicas and sentinels reach
	// the servers through them. Each is ensured once per pass, with every
	// route; a route whose address is still taken (by a server or sentinel
	// about to stop listening on TCP) is retried by the forwarder itself.
	fw := firewalled(c)
	hashes := map[string]string{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if !fw {
			d.stopForwarder(ctx, r, c, n, true) // frees Host:Port for the server
			continue
		}
		if err := makeDirs(r, nodePaths(n)); err != nil {
			return err
		}
		hash, err := d.ensureForwarder(ctx, r, c, n)
		if err != nil {
			return err
		}
		hashes[n.ID] = hash
	}

	// Decide the master from what runs (see effectiveMaster), after any
	// failover Sentinel is carrying out.
	waitFailovers(ctx, r, c)
	infos := d.runningInfos(ctx, r, c)
	votes, _ := sentinelVotes(ctx, r, c, c.Nodes)
	master := effectiveMaster(c, infos, votes)
	if _, running := infos[master.ID]; !running {
		// Never restart a master over data that is newer elsewhere.
		switch best := newerReplica(r, c, master, infos); {
		case best != nil:
			if master, err = d.failoverTo(ctx, r, c, master, best); err != nil {
				return err
			}
			infos = d.runningInfos(ctx, r, c)
		case len(infos) == 0:
			master = newestStopped(r, c, master)
		}
	}

	// Servers: a master that does not run yet starts first, so that its
	// replicas find it at their first attempt (a replica that finds no
	// master retries a second later); a running one is changed last, so
	// that a restart a parameter needs hits the replicas before the node
	// taking writes. The replicas start together, already configured to
	// replicate from the master.
	order := []*engine.Node{master}
	var replicas []*engine.Node
	for i := range c.Nodes {
		if c.Nodes[i].ID != master.ID {
			order = append(order, &c.Nodes[i])
			replicas = append(replicas, &c.Nodes[i])
		}
	}
	server := func(n *engine.Node) error {
		var from *engine.Node
		if n.ID != master.ID {
			from = master
		}
		return d.startAs(ctx, c, n, from)
	}
	role := func(n *engine.Node) error { return d.ensureRole(ctx, r, c, n, master) }
	// Sentinels watch clusters with replicas; they only need the master
	// to run, and start together.
	sentinels := func() error {
		return proc.Parallel(order, func(n *engine.Node) error {
			if len(c.Nodes) > 1 {
				return d.ensureSentinel(ctx, c, n, master)
			}
			_, err := d.removeSentinel(ctx, r, c, n)
			return err
		})
	}
	if len(c.Nodes) > 1 {
		for _, n := range order {
			if _, err := recordSentinelPort(r, n); err != nil {
				return err
			}
		}
	}
	if _, running := infos[master.ID]; running {
		if err := proc.Parallel(replicas, server); err != nil {
			return err
		}
		if err := server(master); err != nil {
			return err
		}
		if err := role(master); err != nil {
			return err
		}
		if err := proc.Parallel(replicas, role); err != nil {
			return err
		}
		if err := sentinels(); err != nil {
			return err
		}
	} else if neverStarted(r, c) {
		if err := d.startNew(ctx, r, c, order, sentinels); err != nil {
			return err
		}
	} else {
		if err := server(master); err != nil {
			return err
		}
		if err := role(master); err != nil {
			return err
		}
		// The replicas and the sentinels start at the same time.
		var serr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			serr = sentinels()
		}()
		rerr := proc.Parallel(replicas, func(n *engine.Node) error {
			if err := server(n); err != nil {
				return err
			}
			return role(n)
		})
		<-done
		if err := errors.Join(rerr, serr); err != nil {
			return err
		}
	}
	for _, n := range order {
		if fw {
			if err := waitForwarder(ctx, r, n, hashes[n.ID]); err != nil {
				return err
			}
		}
	}

	// Remove the nodes the cluster no longer lists.
	if len(stale) > 0 {
		for i := range stale {
			if err := d.removeNode(ctx, r, c, &stale[i]); err != nil {
				return err
			}
		}
		if err := writeRegistry(r, c, mergeRegistry(nil, c.Nodes)); err != nil {
			return err
		}
		if len(c.Nodes) > 1 {
			for i := range c.Nodes {
				if err := resetSentinel(ctx, r, c, &c.Nodes[i]); err != nil {
					return err
				}
			}
		}
	}

	return proc.Parallel(replicas, func(n *engine.Node) error {
		return waitReplicating(ctx, r, c, n, master, replicaWait)
	})
}

// neverStarted reports whether no node of the cluster has been started
// yet: none has a configuration file.
func neverStarted(r *proc.Runner, c *engine.Cluster) bool {
	for i := range c.Nodes {
		if _, err := r.ReadFile(nodePaths(&c.Nodes[i]).conf); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// startNew starts a cluster none of whose nodes has been started (order:
// the master first, then the replicas): every
// server and sentinel at once. A replica starts without replicaof and is
// pointed at the master once the master answers, since REPLICAOF connects
// at once while a replica configured to replicate that finds no master
// tries again only a second later. Its configuration file then gets the
// replicaof line, so that it restarts as a replica.
func (d *Driver) startNew(ctx context.Context, r *proc.Runner, c *engine.Cluster, order []*engine.Node, sentinels func() error) error {
	master := order[0]
	var serr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		serr = sentinels()
	}()
	up := make(chan struct{})
	var merr error
	err := proc.Parallel(order, func(n *engine.Node) error {
		if n.ID == master.ID {
			defer close(up)
			merr = d.startAs(ctx, c, n, nil)
			if merr == nil {
				merr = d.ensureRole(ctx, r, c, n, master)
			}
			return merr
		}
		if err := d.startAs(ctx, c, n, nil); err != nil {
			return err
		}
		select {
		case <-up:
		case <-ctx.Done():
			return ctx.Err()
		}
		if merr != nil {
			return nil // the master's error is the one to report
		}
		if err := d.ensureRole(ctx, r, c, n, master); err != nil {
			return err
		}
		sc, err := buildServerConf(c, n, master)
		if err != nil {
			return err
		}
		_, err = r.WriteFile(nodePaths(n).conf, sc.render(), 0o600)
		return err
	})
	<-done
	return errors.Join(err, serr)
}

// startAs ensures node n's server with the configuration of a replica of
// master (nil: of a master).
func (d *Driver) startAs(ctx context.Context, c *engine.Cluster, n, master *engine.Node) error {
	sc, err := buildServerConf(c, n, master)
	if err != nil {
		return err
	}
	return d.ensureServer(ctx, c, n, sc)
}

// runningInfos asks every running server for its replication state.
func (d *Driver) runningInfos(ctx context.Context, r *proc.Runner, c *engine.Cluster) map[string]replInfo {
	infos := map[string]replInfo{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if serverProcess(r, n).Running() == 0 {
			continue
		}
		if ri, err := readRepl(ctx, r, c, n); err == nil {
			infos[n.ID] = ri
		}
	}
	return infos
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
func (d *Driver) removeNode(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node) error {
	stopSentinel(ctx, r, n)
	d.stopForwarder(ctx, r, c, n, false)
	stopServer(ctx, r, n)
	if n.Dir == "" {
		return nil
	}
	if err := r.RemoveAll(n.Dir); err != nil {
		return fmt.Errorf("remove node %s: %w", n.ID, err)
	}
	if rd := n.SocketDir(); c.RunDir != "" && filepath.Dir(rd) == filepath.Clean(c.RunDir) {
		if err := r.RemoveAll(rd); err != nil {
			return fmt.Errorf("remove node %s: %w", n.ID, err)
		}
	}
	d.log.Info("removed redis node", "datastore_id", c.ID, "node", n.ID)
	return nil
}
