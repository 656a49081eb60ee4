package postgres

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func sampleOf(t *testing.T, d *Driver, c *engine.Cluster) engine.Sample {
	t.Helper()
	s, err := d.Sample(enginetest.Ctx(t), c)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	if len(s.Nodes) != len(c.Nodes) {
		t.Fatalf("Sample reported %d nodes, want %d", len(s.Nodes), len(c.Nodes))
	}
	return s
}

func databaseSample(s engine.Sample, name string) *engine.DatabaseSample {
	for i := range s.Databases {
		if s.Databases[i].Name == name {
			return &s.Databases[i]
		}
	}
	return nil
}

func TestSampleFollowsWorkload(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "metrics_db"}); err != nil {
		t.Fatal(err)
	}
	conn := superConn(t, &c.Nodes[0], "metrics_db")
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS m (id serial PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	before := sampleOf(t, d, c)
	n0 := before.Nodes[0]
	if !n0.Up || n0.PID == 0 || n0.Values[engine.MetricDiskUsedBytes] <= 0 {
		t.Fatalf("node sample %+v: want up, a PID and disk use", n0)
	}
	db0 := databaseSample(before, "metrics_db")
	if db0 == nil || db0.Values[engine.MetricSizeBytes] <= 0 || db0.NodeID != c.Nodes[0].ID {
		t.Fatalf("databases %+v: want metrics_db with a size", before.Databases)
	}
	if databaseSample(before, "template0") != nil {
		t.Fatal("template0 is sampled")
	}
	const commits = 25
	for i := 0; i < commits; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO m (v) VALUES ('x')"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT * FROM m"); err != nil {
		t.Fatal(err)
	}
	// The statistics collector flushes at most once a second (and at the
	// end of a transaction when idle): wait for it.
	var after engine.Sample
	var db1 *engine.DatabaseSample
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = sampleOf(t, d, c)
		db1 = databaseSample(after, "metrics_db")
		if db1 != nil && db1.Values[engine.MetricCommits]-db0.Values[engine.MetricCommits] >= commits {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics_db commits went from %v to %v, want +%d", db0.Values[engine.MetricCommits], db1, commits)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := db1.Values[engine.MetricRowsWritten] - db0.Values[engine.MetricRowsWritten]; got < commits {
		t.Errorf("rows written grew by %v, want at least %d", got, commits)
	}
	if got := after.Nodes[0].Values[engine.MetricCommits] - n0.Values[engine.MetricCommits]; got < commits {
		t.Errorf("node commits grew by %v, want at least %d", got, commits)
	}
	if db1.Values[engine.MetricConnections] < 1 {
		t.Errorf("metrics_db connections = %v, want the test's connection", db1.Values[engine.MetricConnections])
	}
	if _, ok := after.Nodes[0].Values[engine.MetricReplicationLagBytes]; ok {
		t.Error("a primary reports replication lag")
	}
}

func TestSampleReplicaLagAndNodeDown(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 2)
	s := sampleOf(t, d, c)
	if !s.Nodes[0].Up || !s.Nodes[1].Up {
		t.Fatalf("nodes %+v: want both up", s.Nodes)
	}
	if lag, ok := s.Nodes[1].Values[engine.MetricReplicationLagBytes]; !ok || lag < 0 {
		t.Fatalf("replica values %v: want replication_lag_bytes", s.Nodes[1].Values)
	}
	for _, db := range s.Databases {
		if db.NodeID != c.Nodes[0].ID {
			t.Fatalf("database %s sampled on the replica", db.Name)
		}
	}
	pid := s.Nodes[1].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s = sampleOf(t, d, c)
		// A killed server lingers a moment as a process being reaped.
		if !s.Nodes[1].Up && s.Nodes[1].PID == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a killed replica is still sampled as up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !s.Nodes[0].Up || s.Nodes[1].PID != 0 {
		t.Fatalf("after killing the replica: %+v", s.Nodes)
	}
}

func TestLogFilesNameTheServerLog(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	files := d.LogFiles(c)
	if len(files) == 0 {
		t.Fatal("no log files")
	}
	today := "postgresql-" + time.Now().UTC().Format("Mon") + ".log"
	found := false
	for _, f := range files {
		if f.Job != engine.JobPostgreSQL || f.Format != engine.LogFormatPostgres || f.NodeID != c.Nodes[0].ID {
			t.Fatalf("log file %+v", f)
		}
		if strings.HasSuffix(f.Path, today) {
			b, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			found = strings.Contains(string(b), " LOG:  ")
		}
	}
	if !found {
		t.Fatalf("no server log lines in today's file among %+v", files)
	}
}
