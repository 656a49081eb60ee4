package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds the queries to one server during Sample.
const sampleTimeout = 3 * time.Second

// PostgreSQL-specific metric names (beside engine.Metric*).
const (
	metricDeadlocks = "deadlocks_total"  // counter: deadlocks detected
	metricTempBytes = "temp_bytes_total" // counter: bytes written to temporary files
)

// dbStats is one row of pg_stat_database with the database's size.
type dbStats struct {
	name                                  string
	commits, rollbacks, returned, written int64
	hits, reads, deadlocks, tempBytes, sz int64
	connections                           int64
}

// ServerStats is what one server answered to the statistics queries of
// Sample (see QueryServerStats).
type ServerStats struct {
	Up         bool
	InRecovery bool
	LSN        uint64 // WAL received or replayed (replicas), written (primary)
	dbs        []dbStats
}

// Sample measures every node: pg_stat_database summed over the databases
// (commits, rollbacks, rows returned by scans, rows inserted, updated or
// deleted, buffer hits and reads, deadlocks, temporary bytes), client
// connections (pg_stat_activity, dbaasd's own excluded), the data
// directory's size and, on replicas, the replication lag in bytes behind
// the primary's WAL position. Databases are measured on the desired
// primary, each with its pg_database_size. Servers that are down are
// reported with Up false.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	answers := make([]ServerStats, len(c.Nodes))
	pids := make([]int, len(c.Nodes))
	sizes := make([]int64, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		p := pathsOf(&c.Nodes[i])
		if pids[i] = serverPID(p); pids[i] == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = d.sampleServer(ctx, c, p)
		}()
	}
	wg.Wait()
	for i := range c.Nodes {
		if size, err := d.dataSize(pathsOf(&c.Nodes[i]), answers[i].LSN, d.diskLimit(c)); err == nil {
			sizes[i] = size
		}
	}
	return SampleOf(c, answers, pids, sizes), nil
}

// SampleOf assembles a cluster's sample from what each of c.Nodes
// answered (stats), its server's process (pids, 0 = unknown) and its data
// size (sizes), all in the order of c.Nodes. Databases are those of the
// node whose desired role is MASTER.
func SampleOf(c *engine.Cluster, stats []ServerStats, pids []int, sizes []int64) engine.Sample {
	var primaryLSN uint64
	for i, a := range stats {
		if a.Up && !a.InRecovery && c.Nodes[i].Role == engine.RoleMaster {
			primaryLSN = a.LSN
		}
	}
	var out engine.Sample
	for i, a := range stats {
		n := &c.Nodes[i]
		ns := engine.NodeSample{NodeID: n.ID, Up: a.Up, PID: pids[i],
			Values: map[string]float64{engine.MetricDiskUsedBytes: float64(sizes[i])}}
		if a.Up {
			var sum dbStats
			for _, s := range a.dbs {
				sum.commits += s.commits
				sum.rollbacks += s.rollbacks
				sum.returned += s.returned
				sum.written += s.written
				sum.hits += s.hits
				sum.reads += s.reads
				sum.deadlocks += s.deadlocks
				sum.tempBytes += s.tempBytes
				sum.connections += s.connections
			}
			v := ns.Values
			v[engine.MetricConnections] = float64(sum.connections)
			v[engine.MetricCommits] = float64(sum.commits)
			v[engine.MetricRollbacks] = float64(sum.rollbacks)
			v[engine.MetricRowsRead] = float64(sum.returned)
			v[engine.MetricRowsWritten] = float64(sum.written)
			v[engine.MetricCacheHits] = float64(sum.hits)
			v[engine.MetricCacheMisses] = float64(sum.reads)
			v[metricDeadlocks] = float64(sum.deadlocks)
			v[metricTempBytes] = float64(sum.tempBytes)
			if a.InRecovery && primaryLSN > 0 {
				lag := 0.0
				if primaryLSN > a.LSN {
					lag = float64(primaryLSN - a.LSN)
				}
				v[engine.MetricReplicationLagBytes] = lag
			}
			if n.Role == engine.RoleMaster {
				for _, s := range a.dbs {
					dv := map[string]float64{
						engine.MetricConnections: float64(s.connections),
						engine.MetricCommits:     float64(s.commits), engine.MetricRollbacks: float64(s.rollbacks),
						engine.MetricRowsRead: float64(s.returned), engine.MetricRowsWritten: float64(s.written),
						engine.MetricCacheHits: float64(s.hits), engine.MetricCacheMisses: float64(s.reads),
						metricDeadlocks: float64(s.deadlocks), metricTempBytes: float64(s.tempBytes),
					}
					dv[engine.MetricSizeBytes] = float64(s.sz)
					out.Databases = append(out.Databases, engine.DatabaseSample{Name: s.name, NodeID: n.ID, Values: dv})
				}
			}
		}
		out.Nodes = append(out.Nodes, ns)
	}
	return out
}

// sampleServer asks one server, within sampleTimeout and on its probe
// connection, for its statistics.
func (d *Driver) sampleServer(ctx context.Context, c *engine.Cluster, p nodePaths) ServerStats {
	var ns ServerStats
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	_ = d.onProbe(ctx, c, p, func(conn *pgx.Conn) error {
		var err error
		ns, err = QueryServerStats(ctx, conn, probeApp)
		return err
	})
	return ns
}

// QueryServerStats asks a server, on conn, for Sample's statistics; the
// connections of conn's user with application name ownApp (the caller's
// own) are not counted. A server that answers is up even when its
// statistics cannot be read (a database dropped during the query): it
// then has no values, and the error says why.
func QueryServerStats(ctx context.Context, conn *pgx.Conn, ownApp string) (ServerStats, error) {
	var ns ServerStats
	var pos *string
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()
		THEN coalesce(pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn())::text
		ELSE pg_current_wal_lsn()::text END`).Scan(&ns.InRecovery, &pos); err != nil {
		return ServerStats{}, err
	}
	ns.Up = true
	if pos != nil {
		ns.LSN = parseLSN(*pos)
	}
	// Databases that do not accept connections (template0) and
	// templates are left out.
	rows, err := conn.Query(ctx, `SELECT d.datname, s.xact_commit, s.xact_rollback, s.tup_returned,
			s.tup_inserted + s.tup_updated + s.tup_deleted, s.blks_hit, s.blks_read, s.deadlocks, s.temp_bytes,
			pg_database_size(d.oid),
			(SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid AND a.backend_type = 'client backend'
				AND NOT (a.usename = current_user AND a.application_name = $1))
		FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
		WHERE d.datallowconn AND NOT d.datistemplate
		ORDER BY d.datname`, ownApp)
	if err != nil {
		return ns, err
	}
	ns.dbs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (dbStats, error) {
		var s dbStats
		err := r.Scan(&s.name, &s.commits, &s.rollbacks, &s.returned, &s.written, &s.hits, &s.reads,
			&s.deadlocks, &s.tempBytes, &s.sz, &s.connections)
		return s, err
	})
	return ns, err
}
