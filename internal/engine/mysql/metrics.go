package mysql

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds the queries to one server during Sample.
const sampleTimeout = 3 * time.Second

// MariaDB-specific metric names (beside engine.Metric*).
const (
	metricQueries     = "queries_total"             // counter: statements clients sent (Questions)
	metricSlowQueries = "slow_queries_total"        // counter: statements slower than long_query_time
	metricLagSeconds  = "replication_lag_seconds"   // gauge: Seconds_Behind_Master of a replica
	metricTables      = "tables"                    // gauge: tables of a schema
	metricAborted     = "aborted_connections_total" // counter: failed connection attempts
	metricGaleraQueue = "galera_recv_queue"         // gauge: write sets waiting to be applied
)

// systemSchemas are MariaDB's own schemas, left out of per-database metrics.
var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// nodeAnswer is what one server answered.
type nodeAnswer struct {
	up     bool
	values map[string]float64
	dbs    []engine.DatabaseSample
}

// Sample measures every node from SHOW GLOBAL STATUS: client connections
// (Threads_connected, dbaasd's own excluded), commits and rollbacks
// (Handler_commit, Handler_rollback: every transaction, autocommit
// statements included), rows read and written by the storage engines
// (Handler_read_*, Handler_write/update/delete: this MariaDB has no
// Innodb_rows_*), InnoDB buffer pool hits and reads, statements and slow statements, the data directory's size, and a
// semi-sync replica's lag (bytes of the primary's binary log, and seconds).
// Schemas are measured on the primary (or, when it is down, the first node
// that answers): size of their tables and indexes (information_schema.TABLES),
// table count and connections using them.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	if err := d.check(); err != nil {
		return engine.Sample{}, err
	}
	var masterFile string
	var masterPos int64
	if d.mode == ModeNative {
		if m := c.Master(); m != nil && serverPID(newNode(d.runner.Existing(c.ID), *m)) > 0 {
			masterFile, masterPos = binlogPosition(ctx, c, newNode(d.runner.Existing(c.ID), *m))
		}
	}
	galera := d.mode == ModeSync && len(c.Nodes) > 1
	answers := make([]nodeAnswer, len(c.Nodes))
	pids := make([]int, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		n := newNode(d.runner.Existing(c.ID), c.Nodes[i])
		if pids[i] = serverPID(n); pids[i] == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = d.sampleNode(ctx, c, n, galera, masterFile, masterPos)
		}()
	}
	wg.Wait()

	var out engine.Sample
	schemasFrom := -1
	for i := range c.Nodes {
		if answers[i].up && (schemasFrom < 0 || c.Nodes[i].Role == engine.RoleMaster) {
			schemasFrom = i
		}
	}
	for i := range c.Nodes {
		n := newNode(d.runner.Existing(c.ID), c.Nodes[i])
		a := answers[i]
		if a.values == nil {
			a.values = map[string]float64{}
		}
		a.values[engine.MetricDiskUsedBytes] = float64(proc.DiskUsage(n.dataDir()))
		out.Nodes = append(out.Nodes, engine.NodeSample{NodeID: n.ID, Up: a.up, PID: pids[i], Values: a.values})
		if i == schemasFrom {
			out.Databases = a.dbs
		}
	}
	return out, nil
}

func (d *Driver) sampleNode(ctx context.Context, c *engine.Cluster, n *node, galera bool, masterFile string, masterPos int64) nodeAnswer {
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	db := openSocket(n.socket(), c.AdminPassword, sampleTimeout)
	defer func() { _ = db.Close() }()
	up, values, dbs := SampleServer(ctx, db, n.ID, ServerRole{Galera: galera, Native: d.mode == ModeNative, MasterFile: masterFile, MasterPos: masterPos})
	return nodeAnswer{up: up, values: values, dbs: dbs}
}

// ServerRole is what SampleServer needs to know of a server's place in
// its cluster.
type ServerRole struct {
	Galera bool // a node of a Galera cluster
	Native bool // a node of a semi-sync cluster
	// MasterFile and MasterPos are the primary's binary log position
	// (MasterPosition), for a replica's lag in bytes ("" = unknown).
	MasterFile string
	MasterPos  int64
}

// SampleServer measures one server through db, an admin connection (see
// Sample for what it reads); up is false when the server does not answer.
// The Kubernetes runtime's driver measures its servers with it too.
func SampleServer(ctx context.Context, db *sql.DB, nodeID string, r ServerRole) (up bool, values map[string]float64, dbs []engine.DatabaseSample) {
	status, err := globalStatus(ctx, db)
	if err != nil {
		return false, nil, nil
	}
	num := func(names ...string) float64 {
		var sum float64
		for _, name := range names {
			v, _ := strconv.ParseFloat(status[name], 64)
			sum += v
		}
		return sum
	}
	requests, reads := num("Innodb_buffer_pool_read_requests"), num("Innodb_buffer_pool_reads")
	values = map[string]float64{
		engine.MetricConnections: max(num("Threads_connected")-1, 0),
		engine.MetricCommits:     num("Handler_commit"),
		engine.MetricRollbacks:   num("Handler_rollback"),
		engine.MetricRowsRead: num("Handler_read_first", "Handler_read_key", "Handler_read_last", "Handler_read_next",
			"Handler_read_prev", "Handler_read_rnd", "Handler_read_rnd_next"),
		engine.MetricRowsWritten: num("Handler_write", "Handler_update", "Handler_delete"),
		engine.MetricCacheHits:   max(requests-reads, 0),
		engine.MetricCacheMisses: reads,
		metricQueries:            num("Questions"),
		metricSlowQueries:        num("Slow_queries"),
		metricAborted:            num("Aborted_connects"),
	}
	switch {
	case r.Galera:
		values[metricGaleraQueue] = num("wsrep_local_recv_queue")
	case r.Native:
		ns := engine.NodeState{}
		observeReplication(ctx, db, &ns, r.MasterFile, r.MasterPos)
		if ns.Role == engine.RoleReplica {
			values[engine.MetricReplicationLagBytes] = float64(ns.LagBytes)
			if st, err := scanMap(ctx, db, "SHOW SLAVE STATUS"); err == nil && st != nil {
				if s, err := strconv.ParseFloat(st["Seconds_Behind_Master"], 64); err == nil {
					values[metricLagSeconds] = s
				}
			}
		}
	}
	return true, values, sampleSchemas(ctx, db, nodeID)
}

// globalStatus reads every global status variable.
func globalStatus(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// sampleSchemas measures the users' schemas: their size, tables and the
// connections using them. Errors leave the schemas out.
func sampleSchemas(ctx context.Context, db *sql.DB, nodeID string) []engine.DatabaseSample {
	rows, err := db.QueryContext(ctx, `SELECT s.SCHEMA_NAME, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0), COUNT(t.TABLE_NAME)
		FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
		GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME`)
	if err != nil {
		return nil
	}
	var out []engine.DatabaseSample
	byName := map[string]int{}
	for rows.Next() {
		var name string
		var size, tables float64
		if err := rows.Scan(&name, &size, &tables); err != nil {
			_ = rows.Close()
			return nil
		}
		if systemSchemas[name] {
			continue
		}
		byName[name] = len(out)
		out = append(out, engine.DatabaseSample{Name: name, NodeID: nodeID, Values: map[string]float64{
			engine.MetricSizeBytes: size, metricTables: tables, engine.MetricConnections: 0,
		}})
	}
	// Next closed the rows when it returned false; Err tells why it stopped.
	if rows.Err() != nil {
		return nil
	}
	conns, err := db.QueryContext(ctx, `SELECT DB, COUNT(*) FROM information_schema.PROCESSLIST
		WHERE DB IS NOT NULL AND ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Slave_IO', 'Slave_SQL') GROUP BY DB`)
	if err != nil {
		return out
	}
	defer func() { _ = conns.Close() }()
	for conns.Next() {
		var name string
		var n float64
		if conns.Scan(&name, &n) == nil {
			if i, ok := byName[name]; ok {
				out[i].Values[engine.MetricConnections] = n
			}
		}
	}
	return out
}
