package cnpg

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/conncache"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds what one server is asked during Sample.
const sampleTimeout = 5 * time.Second

// sampleIdle is how long a sampling connection nobody used stays open:
// two of the default metrics intervals.
const sampleIdle = time.Minute

// newSampleConns is the cache of sampling connections.
func newSampleConns() *conncache.Cache[*pgx.Conn] {
	return conncache.New(func(conn *pgx.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}, sampleIdle, (*pgx.Conn).IsClosed)
}

// dataSizeQuery is a server's data as it counts it: its databases and its
// WAL. The pod's volume is not dbaasd's to walk.
const dataSizeQuery = `SELECT (SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint
	+ (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())::bigint`

// Sample implements engine.MetricsSampler: every node's server is asked,
// through the node's address, the statistics the local runtime reads
// (postgres.QueryServerStats) and the size of its data, on a connection
// kept open from one Sample to the next (a new one costs the server a
// backend and an authentication). A server that does not answer is
// reported with Up false. The servers' processes run
// in pods, so no PID is reported, and the CPU and memory figures the
// local runtime reads from /proc are absent.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	stats := make([]postgres.ServerStats, len(c.Nodes))
	sizes := make([]int64, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
			defer cancel()
			n := c.Nodes[i]
			dial := func(ctx context.Context) (*pgx.Conn, error) { return connectNode(ctx, c, n, "node "+n.ID, "postgres") }
			err := d.samples.Do(ctx, c.ID+"/"+n.ID+"/"+net.JoinHostPort(n.Host, strconv.Itoa(n.Port)), dial, func(conn *pgx.Conn) error {
				var err error
				if stats[i], err = postgres.QueryServerStats(ctx, conn, adminApp); err != nil {
					return err
				}
				return conn.QueryRow(ctx, dataSizeQuery).Scan(&sizes[i])
			})
			if err != nil && ctx.Err() == nil {
				d.log.Debug("sample", "datastore_id", c.ID, "node", c.Nodes[i].ID, "error", err)
			}
		}()
	}
	wg.Wait()
	return postgres.SampleOf(c, stats, make([]int, len(c.Nodes)), sizes), nil
}
