package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// observeTimeout bounds the queries to one node during Observe.
const observeTimeout = time.Second

// Observe reports each desired node: running (a live mariadbd that answers
// a query within about a second), its role and replication state, and the
// size of the largest data directory. It changes nothing.
//
// Roles: in a semi-sync cluster a node that replicates is a REPLICA, a
// writable node without replication the MASTER. In a synchronous cluster
// every node takes writes: a node that answers (and, in Galera, is Synced
// in a primary component) reports its desired role; a Galera node that is
// not synced is DOWN with its state in Detail.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	if err := d.check(); err != nil {
		return engine.Observation{}, err
	}
	galera := d.mode == ModeSync && len(c.Nodes) > 1
	r := d.runner.Existing(c.ID)
	// The primary's binary log position, for the replicas' lag in bytes.
	var masterFile string
	var masterPos int64
	if d.mode == ModeNative {
		if m := c.Master(); m != nil && serverPID(newNode(r, *m)) > 0 {
			masterFile, masterPos = binlogPosition(ctx, c, newNode(r, *m))
		}
	}
	obs := engine.Observation{Nodes: make([]engine.NodeState, len(c.Nodes))}
	sizes := make([]int64, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := newNode(r, c.Nodes[i])
			sizes[i] = proc.DiskUsage(n.dataDir())
			obs.Nodes[i] = d.observeNode(ctx, c, n, galera, masterFile, masterPos)
			if c.Flavor.DiskGB > 0 && sizes[i] >= int64(c.Flavor.DiskGB)<<30 {
				obs.Nodes[i].Status = engine.NodeDiskFull
				obs.Nodes[i].Detail = fmt.Sprintf("data uses %d bytes of %d GB", sizes[i], c.Flavor.DiskGB)
			}
		}(i)
	}
	wg.Wait()
	for _, s := range sizes {
		obs.DiskUsedBytes = max(obs.DiskUsedBytes, s)
	}
	return obs, nil
}

func (d *Driver) observeNode(ctx context.Context, c *engine.Cluster, n *node, galera bool, masterFile string, masterPos int64) engine.NodeState {
	ns := engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}
	if serverPID(n) == 0 {
		ns.Detail = "mariadbd is not running"
		return ns
	}
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	db := probeDB(n.socket(), c.AdminPassword)
	if _, err := queryString(ctx, db, "SELECT 1"); err != nil {
		ns.Detail = "mariadbd does not answer: " + err.Error()
		return ns
	}
	switch {
	case galera:
		g, err := galeraStatus(ctx, db)
		if err != nil {
			ns.Detail = "galera status: " + err.Error()
			return ns
		}
		if !g.synced() {
			ns.Detail = fmt.Sprintf("galera node is %s in a %s component", g.State, g.ClusterStatus)
			return ns
		}
		ns.Status, ns.Role = engine.NodeActive, n.Role
		ns.Detail = fmt.Sprintf("galera cluster of %d nodes", g.Size)
	case d.mode == ModeSync:
		ns.Status, ns.Role = engine.NodeActive, n.Role
	default:
		observeReplication(ctx, db, &ns, masterFile, masterPos)
	}
	return ns
}

// observeReplication fills in a semi-sync node's role and lag.
func observeReplication(ctx context.Context, db *sql.DB, ns *engine.NodeState, masterFile string, masterPos int64) {
	st, err := scanMap(ctx, db, "SHOW SLAVE STATUS")
	if err != nil {
		ns.Detail = "slave status: " + err.Error()
		return
	}
	ns.Status = engine.NodeActive
	if st == nil {
		if pos, err := queryString(ctx, db, "SELECT @@GLOBAL.gtid_binlog_pos"); err == nil {
			ns.Position = gtidSeq(pos)
		}
		ro, err := queryString(ctx, db, "SELECT @@GLOBAL.read_only")
		switch {
		case err != nil:
			ns.Detail = "read_only: " + err.Error()
		case ro == "0":
			ns.Role = engine.RoleMaster
		default:
			ns.Detail = "read-only and not replicating"
		}
		return
	}
	ns.Role = engine.RoleReplica
	// What the replica has received (its relay log), not only applied.
	ns.Position = max(gtidSeq(st["Gtid_IO_Pos"]), gtidSeq(st["Gtid_Slave_Pos"]))
	exec, _ := strconv.ParseInt(st["Exec_Master_Log_Pos"], 10, 64)
	if masterFile != "" && st["Relay_Master_Log_File"] == masterFile && masterPos >= exec {
		ns.LagBytes = masterPos - exec
	}
	switch {
	case st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes":
		ns.Detail = fmt.Sprintf("replication threads IO=%s SQL=%s: %s%s", st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"], st["Last_SQL_Error"])
	case st["Seconds_Behind_Master"] != "" && st["Seconds_Behind_Master"] != "0":
		ns.Detail = "replica is " + st["Seconds_Behind_Master"] + " s behind its primary"
	}
}

// gtidSeq is the highest sequence number in a MariaDB GTID position such
// as "0-1-42" or "0-1-42,1-2-7"; 0 when there is none.
func gtidSeq(pos string) uint64 {
	var best uint64
	for _, g := range strings.Split(pos, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 {
			continue
		}
		if n, err := strconv.ParseUint(parts[2], 10, 64); err == nil && n > best {
			best = n
		}
	}
	return best
}

// binlogPosition is a server's current binary log file and position.
func binlogPosition(ctx context.Context, c *engine.Cluster, n *node) (string, int64) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	return MasterPosition(ctx, probeDB(n.socket(), c.AdminPassword))
}

// MasterPosition is the current binary log file and position of the server
// db reaches ("" when it has none or does not answer).
func MasterPosition(ctx context.Context, db *sql.DB) (string, int64) {
	st, err := scanMap(ctx, db, "SHOW MASTER STATUS")
	if err != nil || st == nil {
		return "", 0
	}
	pos, _ := strconv.ParseInt(st["Position"], 10, 64)
	return st["File"], pos
}
