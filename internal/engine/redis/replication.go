package redis

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// replInfo is what a running server says of its replication.
type replInfo struct {
	role       string // "master" or "slave"
	masterHost string
	masterPort int
	linkUp     bool
	syncing    bool
	offset     int64 // master_repl_offset (master) or slave_repl_offset (replica)
	replid     string
	replid2    string // the history it continued from, when it was promoted
}

// readRepl asks node n's server (over its socket) for INFO replication.
func readRepl(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node) (replInfo, error) {
	m, err := replicationInfo(ctx, c, n)
	if err != nil {
		return replInfo{}, err
	}
	return parseRepl(m), nil
}

// replicationInfo is node n's INFO replication, asked over its socket.
func replicationInfo(ctx context.Context, c *engine.Cluster, n *engine.Node) (map[string]string, error) {
	p := nodePaths(n)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, _, err := connect(cctx, unixEndpoint(p.serverSock), creds(nil, c, p))
	if err != nil {
		return nil, err
	}
	defer func() { _ = cl.Close() }()
	s, err := cl.Info(cctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	return parseInfo(s), nil
}

func parseRepl(m map[string]string) replInfo {
	ri := replInfo{role: m["role"], masterHost: m["master_host"], linkUp: m["master_link_status"] == "up",
		syncing: m["master_sync_in_progress"] == "1", replid: m["master_replid"], replid2: m["master_replid2"]}
	ri.masterPort, _ = strconv.Atoi(m["master_port"])
	if ri.role == "master" {
		ri.offset = infoInt(m, "master_repl_offset")
	} else {
		ri.offset = infoInt(m, "slave_repl_offset")
	}
	return ri
}

// sentinelVotes counts which address the nodes' running sentinels consider
// the master's, and how many sentinels answered. A sentinel that is down
// has no say: what its file last recorded may be long out of date.
func sentinelVotes(ctx context.Context, r *proc.Runner, c *engine.Cluster, nodes []engine.Node) (map[string]int, int) {
	votes := map[string]int{}
	healthy := 0
	for i := range nodes {
		n := &nodes[i]
		if sentinelProcess(r, n).Running() == 0 {
			continue
		}
		a, err := sentinelMasterAddr(ctx, r, c, n)
		if err != nil {
			continue
		}
		healthy++
		if a != "" {
			votes[a]++
		}
	}
	return votes, healthy
}

// sentinelFileMaster returns the master address in a sentinel config file's
// content.
func sentinelFileMaster(content string) string {
	a := ""
	for _, line := range strings.Split(content, "\n") {
		args := splitArgs(line)
		if len(args) >= 5 && args[0] == "sentinel" && args[1] == "monitor" && args[2] == MasterName {
			a = net.JoinHostPort(args[3], args[4])
		}
	}
	return a
}

// effectiveMaster decides which node is the master. Ensure follows
// Sentinel rather than fighting it:
//
//  1. Among the nodes acting as masters, one that another master was
//     promoted from (its replication ID is the other's previous ID) is
//     stale: the promoted one is newer. This settles the moment after a
//     failover when the old master still acts as one.
//  2. The node a majority of the cluster's sentinels (running ones; a
//     majority of all the nodes, not of those that answer) name as master
//     wins when it is one of the remaining masters, or when no node acts
//     as a master (it is down and is to be restarted as the master the
//     sentinels expect, unless a replica holds newer data: see
//     newerThanMaster).
//  3. Else the only master left; among several, the desired one or the one
//     furthest ahead; with none (and no sentinel opinion), the desired
//     master (Node.Role) or the first node.
//
// Node.Role therefore only decides for new clusters, clusters growing from
// one node and clusters whose master was removed; after a Sentinel failover
// the promoted node stays master and Observe reports the roles as they are.
func effectiveMaster(c *engine.Cluster, infos map[string]replInfo, votes map[string]int) *engine.Node {
	byAddr := map[string]*engine.Node{}
	for i := range c.Nodes {
		byAddr[addr(reachIP(&c.Nodes[i]), c.Nodes[i].Port)] = &c.Nodes[i]
	}
	var masters []*engine.Node
	for i := range c.Nodes {
		if ri, ok := infos[c.Nodes[i].ID]; ok && ri.role == "master" {
			masters = append(masters, &c.Nodes[i])
		}
	}
	masters = dropStaleMasters(masters, infos)

	best, bestVotes := "", 0
	for a, v := range votes {
		if v > bestVotes || (v == bestVotes && a < best) {
			best, bestVotes = a, v
		}
	}
	if voted := byAddr[best]; voted != nil && bestVotes >= quorum(len(c.Nodes)) {
		if len(masters) == 0 {
			return voted
		}
		for _, m := range masters {
			if m == voted {
				return m
			}
		}
	}
	desired := c.Master()
	if desired == nil && len(c.Nodes) > 0 {
		desired = &c.Nodes[0]
	}
	switch len(masters) {
	case 0:
		return desired
	case 1:
		return masters[0]
	}
	for _, m := range masters {
		if m == desired {
			return m
		}
	}
	ahead := masters[0]
	for _, m := range masters[1:] {
		if infos[m.ID].offset > infos[ahead.ID].offset {
			ahead = m
		}
	}
	return ahead
}

// dropStaleMasters removes the masters another master was promoted from.
func dropStaleMasters(masters []*engine.Node, infos map[string]replInfo) []*engine.Node {
	var out []*engine.Node
	for _, m := range masters {
		if staleMaster(m.ID, masters, infos) == nil {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return masters // a cycle cannot happen; keep them all if it does
	}
	return out
}

// staleMaster returns the master that was promoted from master id, or nil.
func staleMaster(id string, masters []*engine.Node, infos map[string]replInfo) *engine.Node {
	rid := infos[id].replid
	for _, o := range masters {
		if o.ID != id && rid != "" && infos[o.ID].replid2 == rid {
			return o
		}
	}
	return nil
}

// waitFailovers waits while a sentinel of the cluster is failing over, so
// that Ensure decides from the outcome instead of interrupting it.
func waitFailovers(ctx context.Context, r *proc.Runner, c *engine.Cluster) {
	deadline := time.Now().Add(2 * failoverTimeoutMs * time.Millisecond)
	for time.Now().Before(deadline) {
		busy := false
		for i := range c.Nodes {
			n := &c.Nodes[i]
			if sentinelProcess(r, n).Running() == 0 {
				continue
			}
			if failingOver(ctx, r, c, n) {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// failingOver reports whether node n's sentinel is failing over.
func failingOver(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node) bool {
	cl, _, err := connectSentinel(ctx, r, c, n)
	if err != nil {
		return false
	}
	defer func() { _ = cl.Close() }()
	v, err := cl.Do(ctx, "SENTINEL", "MASTER", MasterName).Result()
	if err != nil {
		return false
	}
	return strings.Contains(replyMap(v)["flags"], "failover_in_progress")
}

// ensureRole makes a running node replicate from master, or act as master
// when it is the master.
func (d *Driver) ensureRole(ctx context.Context, r *proc.Runner, c *engine.Cluster, n, master *engine.Node) error {
	p := nodePaths(n)
	cl, _, err := connect(ctx, unixEndpoint(p.serverSock), creds(r, c, p))
	if err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	defer func() { _ = cl.Close() }()
	s, err := cl.Info(ctx, "replication").Result()
	if err != nil {
		return redisErr("INFO replication", err)
	}
	ri := parseRepl(parseInfo(s))
	if n.ID == master.ID {
		if ri.role != "master" {
			d.log.Info("promoting redis node to master", "datastore_id", c.ID, "node", n.ID)
			if err := cl.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
				return redisErr("REPLICAOF NO ONE", err)
			}
		}
		return nil
	}
	host, port := reachIP(master), master.Port
	if ri.role == "master" || ri.masterHost != host || ri.masterPort != port {
		d.log.Info("pointing redis replica at its master", "datastore_id", c.ID, "node", n.ID, "master", master.ID)
		if err := cl.Do(ctx, "REPLICAOF", host, strconv.Itoa(port)).Err(); err != nil {
			return redisErr("REPLICAOF", err)
		}
	}
	return nil
}

// waitReplicating waits until replica n has reached master: its link is
// up, its first synchronisation has started (a large dataset may take
// long to copy; Observe reports the lag meanwhile), or master counts it
// among its replicas, waiting for the snapshot to copy (a replica that
// asks while another's diskless snapshot is being made waits for the
// next, which Redis starts up to 100 ms later).
func waitReplicating(ctx context.Context, r *proc.Runner, c *engine.Cluster, n, master *engine.Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last replInfo
	var lastErr error
	var b proc.Backoff
	for time.Now().Before(deadline) {
		last, lastErr = readRepl(ctx, r, c, n)
		if lastErr == nil && last.role == "slave" && (last.linkUp || last.syncing) {
			return nil
		}
		if lastErr == nil && last.role == "slave" && last.masterHost == reachIP(master) && last.masterPort == master.Port &&
			servesReplica(ctx, c, master, n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.Next()):
		}
	}
	return fmt.Errorf("node %s: replica does not reach its master (role %q, link up %v, error %v)", n.ID, last.role, last.linkUp, lastErr)
}

// servesReplica reports whether master's server lists replica n (by the
// address n announces) among its replicas.
func servesReplica(ctx context.Context, c *engine.Cluster, master, n *engine.Node) bool {
	m, err := replicationInfo(ctx, c, master)
	return err == nil && slaveListed(m, reachIP(n), n.Port)
}

// slaveListed reports whether a master's INFO replication has a replica
// line ("slave0:ip=…,port=…,state=…") for host:port, in any state.
func slaveListed(info map[string]string, host string, port int) bool {
	for k, v := range info {
		if num, ok := strings.CutPrefix(k, "slave"); !ok || !isUint(num) {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			if name, val, ok := strings.Cut(kv, "="); ok {
				f[name] = val
			}
		}
		if f["ip"] == host && f["port"] == strconv.Itoa(port) && f["state"] != "" {
			return true
		}
	}
	return false
}
