package redis

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// observeTimeout bounds how long a node may take to answer Observe.
const observeTimeout = time.Second

// nodeObs is what Observe learned of one node.
type nodeObs struct {
	state engine.NodeState
	repl  replInfo
	up    bool
}

// Observe reports what every node does right now: whether its server runs
// and answers PING (as dbaasd's internal user, over its Unix socket), its
// replication role and lag, and disk use; and whether the supporting
// processes run: each node's sentinel (clusters with replicas) and
// firewall forwarder (firewalled clusters). It never changes anything.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	r, err := d.existing(c)
	if err != nil {
		return engine.Observation{}, err
	}
	obs := make([]nodeObs, len(c.Nodes))
	var sentinels []engine.ProcessState
	if len(c.Nodes) > 1 {
		sentinels = make([]engine.ProcessState, len(c.Nodes))
	}
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			obs[i] = observeNode(ctx, r, c, &c.Nodes[i])
			if sentinels != nil {
				sentinels[i] = observeSentinel(ctx, r, c, &c.Nodes[i])
			}
		}(i)
	}
	wg.Wait()

	var out engine.Observation
	masterOffset := map[string]int64{} // reach address → master_repl_offset
	for i, o := range obs {
		if o.up && o.repl.role == "master" {
			masterOffset[addr(reachIP(&c.Nodes[i]), c.Nodes[i].Port)] = o.repl.offset
		}
	}
	infos := map[string]replInfo{}
	var masters []*engine.Node
	for i, o := range obs {
		if o.up {
			infos[c.Nodes[i].ID] = o.repl
			if o.repl.role == "master" {
				masters = append(masters, &c.Nodes[i])
			}
		}
	}
	for i := range obs {
		o := &obs[i]
		n := &c.Nodes[i]
		if o.up && o.repl.role == "master" {
			if newer := staleMaster(n.ID, masters, infos); newer != nil {
				o.state.Detail = "still acts as master, but node " + newer.ID + " was promoted in its place"
			}
		}
		if o.up && o.repl.role == "slave" {
			if mo, ok := masterOffset[addr(o.repl.masterHost, o.repl.masterPort)]; ok && o.repl.offset >= 0 && mo >= o.repl.offset {
				o.state.LagBytes = mo - o.repl.offset
			}
			if !o.repl.linkUp && o.state.Detail == "" {
				o.state.Detail = "replication link to the master is down"
				if o.repl.syncing {
					o.state.Detail = "copying the master's dataset"
				}
			}
		}
		used := proc.DiskUsage(nodePaths(n).data)
		if used > out.DiskUsedBytes {
			out.DiskUsedBytes = used
		}
		if o.state.Status == engine.NodeActive && diskFull(nodePaths(n).data, used, c.Flavor) {
			o.state.Status = engine.NodeDiskFull
			o.state.Detail = "the node's disk is full"
		}
		out.Nodes = append(out.Nodes, o.state)
	}
	out.Processes = sentinels
	if firewalled(c) {
		for i := range c.Nodes {
			out.Processes = append(out.Processes, observeForwarder(r, &c.Nodes[i]))
		}
	}
	return out, nil
}

// observeNode looks at one node.
func observeNode(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node) nodeObs {
	o := nodeObs{state: engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}}
	p := nodePaths(n)
	if _, err := os.Stat(p.conf); err != nil {
		o.state.Detail = "not created"
		return o
	}
	if serverProcess(r, n).Running() == 0 {
		o.state.Detail = "redis-server is not running"
		return o
	}
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	ep := unixEndpoint(p.serverSock)
	ep.timeout = observeTimeout
	key := c.ID + "/" + n.ID + "/" + ep.addr
	var answerErr error // the last error of the server (not of connecting)
	err := onProbe(ctx, key, ep, creds(nil, c, p), func(cl *goredis.Client) error {
		o.state.Status, o.state.Detail = engine.NodeDown, ""
		if answerErr = cl.Ping(ctx).Err(); answerErr != nil {
			if isLoading(answerErr) {
				o.state.Status = engine.NodeStarting
				o.state.Detail = "loading its dataset"
				return nil
			}
			o.state.Detail = "PING: " + answerErr.Error()
			return answerErr
		}
		s, err := cl.Info(ctx, "replication").Result()
		if answerErr = err; err != nil {
			o.state.Detail = "INFO: " + err.Error()
			return err
		}
		o.repl = parseRepl(parseInfo(s))
		o.up = true
		return nil
	})
	if err != nil && err != answerErr { //nolint:errorlint // which call failed, not what
		o.state.Detail = "does not answer at " + ep.addr + ": " + err.Error()
	}
	if !o.up {
		return o
	}
	o.state.Status = engine.NodeActive
	switch o.repl.role {
	case "master":
		o.state.Role = engine.RoleMaster
	case "slave":
		o.state.Role = engine.RoleReplica
	}
	return o
}

// diskFull reports whether the node's data no longer fits: its flavor's disk
// is used up, or its file system has no space left.
func diskFull(dir string, used int64, f engine.Flavor) bool {
	if f.DiskGB > 0 && used >= int64(f.DiskGB)<<30 {
		return true
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < 1<<20
}
