package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// madeByBaseBackup reports whether a data directory was copied from a
// running primary by pg_basebackup (which writes backup_manifest) rather
// than from the template.
func madeByBaseBackup(p nodePaths) bool {
	return exists(filepath.Join(p.data, "backup_manifest"))
}

// streamingNow lists the replicas streaming from the primary with their
// sync_state, read once (no waiting).
func streamingNow(t *testing.T, primary *engine.Node) map[string]string {
	t.Helper()
	rows, err := superConn(t, primary, "postgres").Query(enginetest.Ctx(t),
		"SELECT application_name, sync_state FROM pg_stat_replication WHERE state = 'streaming'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var app, sync string
		if err := rows.Scan(&app, &sync); err != nil {
			t.Fatal(err)
		}
		out[app] = sync
	}
	return out
}

// TestNewClusterReplicasAreTemplateCopies: the replicas of a new cluster
// are copies of the template started as standbys beside the primary (same
// system identifier, no pg_basebackup), and Ensure returns only once they
// stream, as synchronous standbys, so the first commit after the create
// is already protected. A replica added later is copied from the running
// primary.
func TestNewClusterReplicasAreTemplateCopies(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 3)
	ctx := enginetest.Ctx(t)
	primary := &c.Nodes[0]

	got := streamingNow(t, primary)
	for _, n := range c.Nodes[1:] {
		if s := got[slotName(n.ID)]; s != "quorum" {
			t.Errorf("replica %s right after Ensure: sync_state %q, want a streaming synchronous (quorum) standby (all: %v)", n.ID, s, got)
		}
	}
	sysID, err := controlSysID(pathsOf(primary).data)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes[1:] {
		p := pathsOf(&n)
		if id, err := controlSysID(p.data); err != nil || id != sysID {
			t.Errorf("replica %s: system identifier %d (%v), want the primary's %d", n.ID, id, err, sysID)
		}
		if madeByBaseBackup(p) {
			t.Errorf("replica %s of a new cluster was copied with pg_basebackup", n.ID)
		}
		if exists(filepath.Join(p.dir, templateCopyFile)) {
			t.Errorf("replica %s streams but is still marked as a template copy", n.ID)
		}
	}
	if got := queryString(t, superConn(t, primary, "postgres"), "SHOW synchronous_standby_names"); !strings.HasPrefix(got, "ANY 1 (") {
		t.Errorf("synchronous_standby_names = %q, want ANY 1 (…)", got)
	}
	if _, err := superConn(t, primary, "postgres").Exec(ctx, "CREATE TABLE first_commit AS SELECT 'kept' AS v"); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes[1:] {
		replica := superConn(t, &n, "postgres")
		waitFor(t, "the first commit on replica "+n.ID, func() bool {
			var v string
			return replica.QueryRow(ctx, "SELECT v FROM first_commit").Scan(&v) == nil && v == "kept"
		})
	}

	// Resize: a fourth node joins a cluster that has run and written.
	c.Nodes = append(c.Nodes, enginetest.NewNode(t, c, 3))
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure with a node added: %v", err)
	}
	added := &c.Nodes[3]
	if !madeByBaseBackup(pathsOf(added)) {
		t.Error("a replica added to a running cluster was not copied from the primary")
	}
	replica := superConn(t, added, "postgres")
	if got := queryString(t, replica, "SELECT v FROM first_commit"); got != "kept" {
		t.Errorf("added replica has %q, want the primary's data", got)
	}
	enginetest.WaitObserved(t, d, c)
}

// TestNewClusterCompletesAfterACrash: a create that stopped after copying
// some replicas from the template, before the primary had data, is
// completed by the next Ensure; a replica with data of its own still
// stops an empty primary from replacing it.
func TestNewClusterCompletesAfterACrash(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := enginetest.NewCluster(t, engine.PostgreSQL, 3)
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	ctx := enginetest.Ctx(t)
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := claimClusterDirs(e, c); err != nil {
		t.Fatal(err)
	}
	// The crash: one replica copied (and marked), the other not yet, the
	// primary nothing.
	p1 := pathsOf(&c.Nodes[1])
	if err := d.prepareNodeDir(ctx, e, c, p1); err != nil {
		t.Fatal(err)
	}
	if err := d.createFromTemplate(ctx, e, p1, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after a create that stopped half-way: %v", err)
	}
	got := streamingNow(t, &c.Nodes[0])
	for _, n := range c.Nodes[1:] {
		if _, ok := got[slotName(n.ID)]; !ok || madeByBaseBackup(pathsOf(&n)) {
			t.Errorf("replica %s: streaming %v, copied by pg_basebackup %v; want a streaming template copy", n.ID, ok, madeByBaseBackup(pathsOf(&n)))
		}
	}

	// A replica with data of its own (not a template copy) and a primary
	// without: refused.
	other := enginetest.NewCluster(t, engine.PostgreSQL, 2)
	t.Cleanup(func() { _ = d.Destroy(context.Background(), other) })
	oe, err := d.clusterEnv(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := claimClusterDirs(oe, other); err != nil {
		t.Fatal(err)
	}
	op := pathsOf(&other.Nodes[1])
	if err := d.prepareNodeDir(ctx, oe, other, op); err != nil {
		t.Fatal(err)
	}
	if err := d.createFromTemplate(ctx, oe, op, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(op.dir, templateCopyFile)); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(ctx, other); err == nil || !strings.Contains(err.Error(), "refusing to start an empty primary") {
		t.Fatalf("Ensure with a replica's own data and no primary data = %v, want a refusal", err)
	}
}

// TestTemplateReplicaThatCannotStreamIsRebuilt: a replica left as a copy
// of the template while its primary ran on and recycled the WAL the copy
// needs never streams; Ensure rebuilds it from the primary.
func TestTemplateReplicaThatCannotStreamIsRebuilt(t *testing.T) {
	t.Parallel()
	needsEngine(t)
	d := New(Options{TemplateDir: templateDir, Logger: testLogger(), TemplateStreamWait: 3 * time.Second})
	c := newCluster(t, d, 2)
	ctx := enginetest.Ctx(t)
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	replica := pathsOf(&c.Nodes[1])
	if err := d.dropReplicaData(ctx, e, c, replica, "test"); err != nil {
		t.Fatal(err)
	}
	if err := d.createFromTemplate(ctx, e, replica, true); err != nil {
		t.Fatal(err)
	}
	// The primary moves on: the replica's slot goes (Ensure makes it
	// again) and segments are switched and checkpointed away (committing
	// locally: the one synchronous standby is down).
	primary := superConn(t, &c.Nodes[0], "postgres")
	if _, err := primary.Exec(ctx, "SET synchronous_commit = local"); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slotName(c.Nodes[1].ID)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS moving_on (v int); INSERT INTO moving_on VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		if _, err := primary.Exec(ctx, "SELECT pg_switch_wal()"); err != nil {
			t.Fatal(err)
		}
		if _, err := primary.Exec(ctx, "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
	}
	first := filepath.Join(pathsOf(&c.Nodes[0]).data, "pg_wal", "000000010000000000000001")
	if exists(first) {
		t.Fatalf("the primary still has %s: the test cannot take the template's WAL away", first)
	}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if !madeByBaseBackup(replica) || exists(filepath.Join(replica.dir, templateCopyFile)) {
		t.Fatal("the replica that could not stream was not rebuilt from the primary")
	}
	if _, ok := streamingNow(t, &c.Nodes[0])[slotName(c.Nodes[1].ID)]; !ok {
		t.Fatal("the rebuilt replica does not stream")
	}
	if got := queryString(t, superConn(t, &c.Nodes[1], "postgres"), "SELECT count(*)::text FROM moving_on"); got != "4" {
		t.Fatalf("rebuilt replica has %s rows, want 4", got)
	}
}

// TestObserveKeepsOneConnectionPerNode: observing a cluster again and
// again is a query on one connection per server; a server restarted in
// between is still seen up on the first try; Sample does not count that
// connection among the clients; Destroy closes it.
func TestObserveKeepsOneConnectionPerNode(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 1)
	ctx := enginetest.Ctx(t)
	n := &c.Nodes[0]
	own := superConn(t, n, "postgres")
	probePIDs := func() string {
		return queryString(t, own,
			"SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE application_name = $1", probeApp)
	}
	var pids string
	for i := 0; i < 5; i++ {
		obs, err := d.Observe(ctx, c)
		if err != nil || obs.Nodes[0].Status != engine.NodeActive {
			t.Fatalf("Observe %d: %+v, %v", i, obs, err)
		}
		got := probePIDs()
		if strings.Contains(got, ",") || got == "" || (pids != "" && got != pids) {
			t.Fatalf("after Observe %d the probe sessions are %q (before: %q), want one and the same", i, got, pids)
		}
		pids = got
	}

	s, err := d.Sample(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if conns := s.Nodes[0].Values[engine.MetricConnections]; conns != 1 {
		// The test's own session (superConn) is the one client.
		t.Errorf("Sample counts %v client connections, want 1 (dbaasd's probe left out)", conns)
	}

	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.restartServer(ctx, e, pathsOf(n), "test"); err != nil {
		t.Fatal(err)
	}
	obs, err := d.Observe(ctx, c)
	if err != nil || obs.Nodes[0].Status != engine.NodeActive {
		t.Fatalf("first Observe after a restart: %+v, %v; want the node active", obs, err)
	}
	own = superConn(t, n, "postgres")
	if got := probePIDs(); got == pids || got == "" {
		t.Fatalf("probe session after the restart %q, want a new one (was %q)", got, pids)
	}
	if err := d.Destroy(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := d.probes.Len(); n != 0 {
		t.Fatalf("%d probe connections kept after Destroy", n)
	}
}
