package mysql

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestSampleAndLogs(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 2)
	ctx := enginetest.Ctx(t)
	sample := func() engine.Sample {
		t.Helper()
		s, err := d.Sample(ctx, c)
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		if len(s.Nodes) != 2 {
			t.Fatalf("Sample reported %d nodes", len(s.Nodes))
		}
		return s
	}
	admin := adminDB(t, c, c.Nodes[0])
	mustExec(t, admin, "CREATE DATABASE IF NOT EXISTS shop")
	mustExec(t, admin, "CREATE TABLE IF NOT EXISTS shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100))")
	before := sample()
	for i, n := range before.Nodes {
		if !n.Up || n.PID == 0 || n.Values[engine.MetricDiskUsedBytes] <= 0 {
			t.Fatalf("node %d sample %+v: want up with a PID and disk use", i, n)
		}
	}
	if _, ok := before.Nodes[1].Values[engine.MetricReplicationLagBytes]; !ok {
		t.Errorf("replica values %v: want replication_lag_bytes", before.Nodes[1].Values)
	}
	const writes = 20
	for i := 0; i < writes; i++ {
		mustExec(t, admin, "INSERT INTO shop.orders (v) VALUES (?)", fmt.Sprint("order ", i))
	}
	after := sample()
	if got := after.Nodes[0].Values[engine.MetricCommits] - before.Nodes[0].Values[engine.MetricCommits]; got < writes {
		t.Errorf("commits grew by %v, want at least %d", got, writes)
	}
	if got := after.Nodes[0].Values[engine.MetricRowsWritten] - before.Nodes[0].Values[engine.MetricRowsWritten]; got < writes {
		t.Errorf("rows written grew by %v, want at least %d", got, writes)
	}
	var shop *engine.DatabaseSample
	for i := range after.Databases {
		if systemSchemas[after.Databases[i].Name] {
			t.Errorf("system schema %s sampled", after.Databases[i].Name)
		}
		if after.Databases[i].Name == "shop" {
			shop = &after.Databases[i]
		}
	}
	if shop == nil || shop.Values[engine.MetricSizeBytes] <= 0 || shop.Values[metricTables] != 1 || shop.NodeID != c.Nodes[0].ID {
		t.Fatalf("databases %+v: want shop with one table and a size, from the primary", after.Databases)
	}

	// A statement slower than the session's long_query_time lands in the
	// slow log, which LogFiles names.
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SET SESSION long_query_time = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT COUNT(*) FROM shop.orders WHERE v <> 'slow-log-marker'"); err != nil {
		t.Fatal(err)
	}
	var slow, errLog string
	for _, f := range d.LogFiles(c) {
		if f.NodeID != c.Nodes[0].ID {
			continue
		}
		switch f.Job {
		case engine.JobMySQLSlow:
			slow = f.Path
		case engine.JobMySQLError:
			errLog = f.Path
		}
	}
	eventually(t, 5*time.Second, func() error {
		b, err := os.ReadFile(slow)
		if err != nil || !strings.Contains(string(b), "slow-log-marker") || !strings.Contains(string(b), "SET timestamp=") {
			return fmt.Errorf("slow log %s: %v: %q", slow, err, b)
		}
		return nil
	})
	if b, err := os.ReadFile(errLog); err != nil || !strings.Contains(string(b), "[Note]") {
		t.Fatalf("error log %s: %v", errLog, err)
	}

	// A node that is down is reported, not an error.
	if err := syscall.Kill(after.Nodes[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		s := sample()
		if s.Nodes[1].Up || !s.Nodes[0].Up {
			return fmt.Errorf("nodes %+v: want the replica down and the primary up", s.Nodes)
		}
		return nil
	})
}
