package cnpg

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// TestSampleThroughNodeAddresses: the metrics of a datastore on
// Kubernetes come from its servers, asked through the nodes' addresses:
// the statistics the local runtime reports (here from a real server
// standing in for a pod behind a node's Service), the database's size and
// its client connections, dbaasd's own left out; a node whose server
// does not answer is down, without failing the sample.
func TestSampleThroughNodeAddresses(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	db := u.Path[1:]
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	ctx := context.Background()
	app, err := pgx.Connect(ctx, u.String()+"&application_name=app")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = app.Close(ctx) }()
	// The rows are written by a session that ends: its statistics are
	// published when it exits (an idle one publishes them 10 s later).
	writer, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"); err != nil {
		t.Fatal(err)
	}
	_ = writer.Close(ctx)
	// A port nothing listens on: the second node's server is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()

	c := &engine.Cluster{ID: "c1", Engine: engine.PostgreSQL, Nodes: []engine.Node{
		{ID: "n1", Index: 0, Role: engine.RoleMaster, Host: host, Port: port},
		{ID: "n2", Index: 1, Role: engine.RoleReplica, Host: "127.0.0.1", Port: down},
	}}
	d := &Driver{log: slog.New(slog.DiscardHandler), samples: newSampleConns()}
	defer d.samples.Forget(c.ID + "/")
	// The writer's backend publishes its statistics as it exits.
	var s engine.Sample
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if s, err = d.Sample(ctx, c); err != nil {
			t.Fatal(err)
		}
		if len(s.Nodes) == 0 || s.Nodes[0].Values[engine.MetricRowsWritten] >= 1000 || time.Now().After(deadline) {
			break
		}
	}
	if len(s.Nodes) != 2 {
		t.Fatalf("nodes sampled: %+v", s.Nodes)
	}
	n1, n2 := s.Nodes[0], s.Nodes[1]
	if !n1.Up || n1.Values[engine.MetricDiskUsedBytes] <= 0 || n1.Values[engine.MetricCommits] <= 0 || n1.Values[engine.MetricRowsWritten] < 1000 {
		t.Errorf("the answering node: %+v", n1)
	}
	if n2.Up || n2.NodeID != "n2" {
		t.Errorf("the node that does not answer: %+v", n2)
	}
	var mine *engine.DatabaseSample
	for i := range s.Databases {
		if s.Databases[i].Name == db {
			mine = &s.Databases[i]
		}
	}
	if mine == nil {
		t.Fatalf("database %s not sampled: %+v", db, s.Databases)
	}
	if mine.Values[engine.MetricSizeBytes] <= 0 || mine.Values[engine.MetricConnections] != 1 {
		t.Errorf("database %s: %v (want a size, and the test's one connection)", db, mine.Values)
	}
	// Samples reuse one connection to the server: the samples above made
	// one session, kept open, and another Sample makes none.
	sessions := func() int {
		return pgtest.QueryOne[int](t, app, "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $1", adminApp)
	}
	before := sessions()
	if _, err := d.Sample(ctx, c); err != nil {
		t.Fatal(err)
	}
	if after := sessions(); before != 1 || after != 1 {
		t.Errorf("sampling sessions: %d before the last Sample, %d after; want the same one", before, after)
	}
}
