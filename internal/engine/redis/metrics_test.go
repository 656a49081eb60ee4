package redis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestKeyspaces(t *testing.T) {
	t.Parallel()
	got := keyspaces(parseInfo("# Keyspace\r\ndb10:keys=1,expires=0,avg_ttl=0\r\ndb0:keys=12,expires=3,avg_ttl=100\r\ndbx:keys=9\r\n"))
	if len(got) != 2 || got[0] != (keyspace{"db0", 12, 3}) || got[1] != (keyspace{"db10", 1, 0}) {
		t.Fatalf("keyspaces = %+v", got)
	}
}

func TestSampleAndLogFiles(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	ctx := enginetest.Ctx(t)
	before, err := d.Sample(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	cl := dial(t, &c.Nodes[0], c.Password, "")
	for i := 0; i < 30; i++ {
		if err := cl.Set(ctx, fmt.Sprint("k", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	db3 := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("%s:%d", c.Nodes[0].Host, c.Nodes[0].Port), Password: c.Password, DB: 3})
	defer func() { _ = db3.Close() }()
	if err := db3.Set(ctx, "other", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_ = cl.Get(ctx, "k1").Err()      // a hit
	_ = cl.Get(ctx, "missing").Err() // a miss
	var after engine.Sample
	eventually(t, 10*time.Second, "replica catches up", func() error {
		var err error
		if after, err = d.Sample(ctx, c); err != nil {
			return err
		}
		if after.Nodes[1].Values[metricKeys] != 31 {
			return fmt.Errorf("replica keys = %v", after.Nodes[1].Values[metricKeys])
		}
		return nil
	})
	m, r := after.Nodes[0], after.Nodes[1]
	if !m.Up || m.PID == 0 || !r.Up || m.Values[metricKeys] != 31 || m.Values[metricUsedMemory] <= 0 {
		t.Fatalf("nodes %+v", after.Nodes)
	}
	if got := m.Values[metricCommands] - before.Nodes[0].Values[metricCommands]; got < 32 {
		t.Errorf("commands grew by %v, want at least 32", got)
	}
	if m.Values[engine.MetricCacheHits] < 1 || m.Values[engine.MetricCacheMisses] < 1 {
		t.Errorf("hits %v misses %v", m.Values[engine.MetricCacheHits], m.Values[engine.MetricCacheMisses])
	}
	if _, ok := r.Values[engine.MetricReplicationLagBytes]; !ok {
		t.Errorf("replica values %v: want replication lag", r.Values)
	}
	if len(after.Databases) != 2 || after.Databases[0].Name != "db0" || after.Databases[0].Values[metricKeys] != 30 ||
		after.Databases[1].Name != "db3" || after.Databases[1].NodeID != c.Nodes[0].ID {
		t.Fatalf("databases %+v", after.Databases)
	}

	files := d.LogFiles(c)
	if len(files) != 4 {
		t.Fatalf("log files %+v: want a server and a sentinel log per node", files)
	}
	b, err := os.ReadFile(files[0].Path)
	if err != nil || files[0].Job != engine.JobRedis || !strings.Contains(string(b), "Ready to accept connections") {
		t.Fatalf("server log %+v: %v", files[0], err)
	}

	// A stopped cluster is sampled as down, not as an error.
	if err := d.Stop(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	down, err := d.Sample(ctx, c)
	if err != nil || down.Nodes[0].Up || down.Nodes[1].Up || down.Nodes[0].PID != 0 {
		t.Fatalf("stopped cluster: %+v, %v", down, err)
	}
}
