package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestDiskFull(t *testing.T) {
	t.Parallel()
	roomy := newDriver(t)
	c := newCluster(t, roomy, 1, func(c *engine.Cluster) { c.Flavor.DiskGB = 1 })
	ctx := enginetest.Ctx(t)
	obs, err := roomy.Observe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// A driver for which this cluster's "1 GB" disk is 8 MB more than it uses now.
	tight := New(Options{TemplateDir: templateDir, Logger: testLogger(), DiskBytesPerGB: obs.DiskUsedBytes + 8<<20})
	if err := tight.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	n := &c.Nodes[0]
	write := func() error {
		conn := superConn(t, n, "postgres")
		_, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS filler (v text); INSERT INTO filler VALUES ('x')")
		return err
	}
	if err := write(); err != nil {
		t.Fatalf("write before the disk is full: %v", err)
	}
	conn := superConn(t, n, "postgres")
	if _, err := conn.Exec(ctx, "INSERT INTO filler SELECT repeat(md5(g::text), 40) FROM generate_series(1, 15000) g"); err != nil {
		t.Fatal(err)
	}
	obs, err = tight.Observe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Nodes[0].Status != engine.NodeDiskFull {
		t.Fatalf("observed %+v (used %d), want %s", obs.Nodes[0], obs.DiskUsedBytes, engine.NodeDiskFull)
	}
	if err := tight.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if err := write(); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write on a full disk = %v, want read_only_sql_transaction", err)
	}
	if got := queryString(t, superConn(t, n, "postgres"), "SELECT count(*)::text FROM filler"); got != "15001" {
		t.Fatalf("reads on a full disk: %s rows", got)
	}
	// Ensure with a roomy disk lifts the guard.
	if err := roomy.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := write(); err != nil {
		t.Fatalf("write after the disk has room again: %v", err)
	}
	obs = enginetest.WaitObserved(t, roomy, c)
	if obs.Nodes[0].Status != engine.NodeActive {
		t.Fatalf("observed %+v after lifting the guard", obs.Nodes[0])
	}
}
