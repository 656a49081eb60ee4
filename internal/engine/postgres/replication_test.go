package postgres

import (
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// waitFor polls cond (bounded) and fails the test with what when it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplicationAndResize(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 3)
	ctx := enginetest.Ctx(t)
	primary := superConn(t, &c.Nodes[0], "postgres")

	streaming := func() string {
		return queryString(t, primary, `SELECT count(*)::text FROM pg_stat_replication WHERE state = 'streaming'`)
	}
	waitFor(t, "two streaming replicas", func() bool { return streaming() == "2" })
	slots := queryString(t, primary, `SELECT string_agg(slot_name || ':' || active::text, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE slot_type = 'physical'`)
	want := []string{slotName(c.Nodes[1].ID), slotName(c.Nodes[2].ID)}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if slots != want[0]+":true,"+want[1]+":true" {
		t.Fatalf("physical slots = %q, want active %v", slots, want)
	}

	if _, err := primary.Exec(ctx, "CREATE TABLE replicated (v text); INSERT INTO replicated VALUES ('hello replicas')"); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes[1:] {
		replica := superConn(t, &n, "postgres")
		if got := queryString(t, replica, "SELECT pg_is_in_recovery()::text"); got != "true" {
			t.Fatalf("replica %s is not in recovery", n.ID)
		}
		waitFor(t, "the row on replica "+n.ID, func() bool {
			var v string
			return replica.QueryRow(ctx, "SELECT v FROM replicated").Scan(&v) == nil && v == "hello replicas"
		})
	}
	enginetest.WaitObserved(t, d, c)
	waitFor(t, "Observe to report the replicas caught up", func() bool {
		obs, err := d.Observe(ctx, c)
		if err != nil || len(obs.Nodes) != 3 {
			return false
		}
		for _, ns := range obs.Nodes {
			if ns.Status != engine.NodeActive || ns.LagBytes != 0 || ns.Detail != "" {
				return false
			}
		}
		return true
	})

	// Resize: shared_buffers needs a restart, done node by node.
	pids := map[string]int{}
	for _, n := range c.Nodes {
		pids[n.ID] = serverPID(pathsOf(&n))
	}
	c.Flavor = engine.Flavor{VCPUs: 2, RAMMB: 2048, DiskGB: 5}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after resize: %v", err)
	}
	for _, n := range c.Nodes {
		conn := superConn(t, &n, "postgres")
		if got := queryString(t, conn, "SHOW shared_buffers"); got != "512MB" {
			t.Errorf("node %d shared_buffers = %s, want 512MB", n.Index, got)
		}
		if got := queryString(t, conn, "SHOW max_connections"); got != "204" {
			t.Errorf("node %d max_connections = %s, want 204", n.Index, got)
		}
		if pid := serverPID(pathsOf(&n)); pid == pids[n.ID] {
			t.Errorf("node %d was not restarted", n.Index)
		}
	}
	primary = superConn(t, &c.Nodes[0], "postgres")
	waitFor(t, "replicas streaming again after the rolling restart", func() bool { return streaming() == "2" })
	enginetest.WaitObserved(t, d, c)

	// Down again: lower max_connections must restart the primary first, and
	// the replicas must come back.
	c.Flavor = engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after downsize: %v", err)
	}
	enginetest.WaitObserved(t, d, c)
	primary = superConn(t, &c.Nodes[0], "postgres")
	waitFor(t, "replicas streaming after the downsize", func() bool { return streaming() == "2" })

	// Idempotent: nothing restarts when nothing changed.
	for _, n := range c.Nodes {
		pids[n.ID] = serverPID(pathsOf(&n))
	}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if serverPID(pathsOf(&n)) != pids[n.ID] {
			t.Errorf("node %d restarted by an Ensure that changed nothing", n.Index)
		}
	}
}
