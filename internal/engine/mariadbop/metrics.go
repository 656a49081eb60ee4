package mariadbop

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds the queries to one server during Sample.
const sampleTimeout = 5 * time.Second

// dataSizeQuery is the size of a server's tables and indexes.
const dataSizeQuery = `SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES`

// Sample implements engine.MetricsSampler: every server is measured as the
// local runtime measures its own (mysql.SampleServer), through the node's
// Service, with the size of its data as the server counts it (tables,
// indexes and binary logs). The servers run in pods: the CPU and memory
// figures the local runtime reads from /proc are absent. Schemas are
// measured on the primary.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	m := &MariaDB{}
	if err := d.kc.Get(ctx, mariadbRes, kube.Namespace(c.ID), mariadbName, m); err != nil {
		return engine.Sample{}, kube.Error(err, "get mariadb")
	}
	nodes := sortedNodes(c)
	primary := -1
	if m.Status.CurrentPrimaryPodIndex != nil {
		primary = *m.Status.CurrentPrimaryPodIndex
	}
	role := mysql.ServerRole{Galera: d.opts.Mode == mysql.ModeSync, Native: d.opts.Mode == mysql.ModeNative}
	if role.Native && primary >= 0 && primary < len(nodes) {
		_ = d.withServer(ctx, nodes[primary], c.AdminPassword, func(ctx context.Context, db *sql.DB) error {
			role.MasterFile, role.MasterPos = mysql.MasterPosition(ctx, db)
			return nil
		})
	}
	out := engine.Sample{Nodes: make([]engine.NodeSample, len(nodes))}
	dbs := make([][]engine.DatabaseSample, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		out.Nodes[i] = engine.NodeSample{NodeID: n.ID}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = d.withServer(ctx, n, c.AdminPassword, func(ctx context.Context, db *sql.DB) error {
				up, values, schemas := mysql.SampleServer(ctx, db, n.ID, role)
				if !up {
					return nil
				}
				values[engine.MetricDiskUsedBytes] = dataSize(ctx, db)
				out.Nodes[i].Up, out.Nodes[i].Values, dbs[i] = true, values, schemas
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range nodes {
		if out.Nodes[i].Up && (out.Databases == nil || i == primary) {
			out.Databases = dbs[i]
		}
	}
	return out, nil
}

// withServer runs fn on an admin connection to one server, bounded by
// sampleTimeout; a server that does not answer is an error.
func (d *Driver) withServer(ctx context.Context, n engine.Node, password string, fn func(context.Context, *sql.DB) error) error {
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	db, err := open(n, password)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return fn(ctx, db)
}

// dataSize is the size of a server's tables, indexes and binary logs.
func dataSize(ctx context.Context, db *sql.DB) float64 {
	var size float64
	_ = db.QueryRowContext(ctx, dataSizeQuery).Scan(&size)
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return size
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Scan(ptrs...) != nil || len(vals) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(string(vals[1]), 64); err == nil {
			size += v
		}
	}
	return size
}
