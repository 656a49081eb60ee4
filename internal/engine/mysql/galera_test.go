package mysql

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestGaleraCluster(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	c := newTestCluster(t, d, 3)
	enginetest.WaitObserved(t, d, c)
	for i, n := range c.Nodes {
		// The membership timers that let nodes starting together agree
		// within a fraction of a second (GaleraMembershipTimers).
		if opts := mustQuery(t, adminDB(t, c, n), "SELECT @@GLOBAL.wsrep_provider_options"); !strings.Contains(opts, "evs.join_retrans_period = PT0.1S") {
			t.Errorf("node %d: wsrep_provider_options lack dbaasd's membership timers: %s", i, opts)
		}
	}

	clusterSize := func(t *testing.T, want int) {
		t.Helper()
		for i, n := range c.Nodes {
			if got := mustStatus(t, adminDB(t, c, n), "wsrep_cluster_size"); got != fmt.Sprint(want) {
				t.Errorf("node %d: wsrep_cluster_size = %s, want %d", i, got, want)
			}
		}
	}
	killNodes := func(t *testing.T, idx ...int) {
		t.Helper()
		for _, i := range idx {
			for _, pid := range d.PIDs(c, &c.Nodes[i]) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		eventually(t, 10*time.Second, func() error {
			for _, i := range idx {
				if len(d.PIDs(c, &c.Nodes[i])) > 0 {
					return fmt.Errorf("node %d still runs", i)
				}
			}
			return nil
		})
	}

	// The nodes of a new cluster start together from the template with
	// the same Galera state: none needs a state transfer.
	t.Run("NewClusterWithoutStateTransfer", func(t *testing.T) {
		for i, n := range c.Nodes {
			b, err := os.ReadFile(newNode(nil, n).errorLog())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "State transfer required") || strings.Contains(string(b), "wsrep_sst_rsync") {
				t.Errorf("node %d needed a state transfer to start", i)
			}
			if st, err := os.ReadFile(newNode(nil, n).statePath()); err != nil || strings.Contains(string(st), `"seeded"`) {
				t.Errorf("node %d is still marked as a template copy (%v)", i, err)
			}
		}
	})

	t.Run("MultiPrimary", func(t *testing.T) {
		clusterSize(t, 3)
		n2 := adminDB(t, c, c.Nodes[1])
		mustExec(t, n2, "CREATE DATABASE app")
		mustExec(t, n2, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(32))")
		mustExec(t, n2, "INSERT INTO app.t VALUES (1, 'written on node 2')")
		expectRow(t, adminDB(t, c, c.Nodes[0]), 1, "written on node 2")
		mustExec(t, adminDB(t, c, c.Nodes[2]), "INSERT INTO app.t VALUES (2, 'written on node 3')")
		expectRow(t, adminDB(t, c, c.Nodes[0]), 2, "written on node 3")
		// Users and grants replicate to every node.
		if err := d.EnsureUser(enginetest.Ctx(t), c, engine.User{Name: "gal", Password: "Gal-pw-1"}); err != nil {
			t.Fatal(err)
		}
		if err := d.EnsureGrant(enginetest.Ctx(t), c, engine.Grant{User: "gal", Database: "app"}); err != nil {
			t.Fatal(err)
		}
		for i, n := range c.Nodes {
			db := tcpDB(t, "tcp", n, "gal", "Gal-pw-1", "app")
			if _, err := db.Exec("INSERT INTO t VALUES (?, 'by gal')", 100+i); err != nil {
				t.Errorf("API user on node %d: %v", i, err)
			}
		}
		// An API user cannot make its writes stay on one node (the nodes
		// would diverge) nor take a node out of flow control. (MariaDB
		// lets every user run its own schema changes node by node,
		// wsrep_osu_method = RSU: that can only break its own tables.)
		gal := tcpDB(t, "tcp", c.Nodes[0], "gal", "Gal-pw-1", "app")
		gal.SetMaxOpenConns(1)
		for _, q := range []string{"SET SESSION wsrep_on = OFF", "SET SESSION sql_log_bin = 0", "SET GLOBAL wsrep_desync = ON"} {
			if _, err := gal.Exec(q); err == nil {
				t.Errorf("an API user could %s", q)
			}
		}
	})

	t.Run("KilledNodeRejoins", func(t *testing.T) {
		killNodes(t, 2)
		obs, err := d.Observe(enginetest.Ctx(t), c)
		if err != nil || obs.Nodes[2].Status == engine.NodeActive {
			t.Fatalf("killed node observed as %+v (err %v)", obs.Nodes[2], err)
		}
		mustExec(t, adminDB(t, c, c.Nodes[0]), "INSERT INTO app.t VALUES (3, 'while node 3 was down')")
		ensure(t, d, c)
		clusterSize(t, 3)
		expectRow(t, adminDB(t, c, c.Nodes[2]), 3, "while node 3 was down")
	})

	t.Run("StoppedClusterBootstrapsFromMostAdvancedNode", func(t *testing.T) {
		// The MASTER node stops first, so the others get ahead of it.
		if err := d.stopNode(enginetest.Ctx(t), newNode(d.runner.Existing(c.ID), c.Nodes[0]), stopGrace); err != nil {
			t.Fatal(err)
		}
		mustExec(t, adminDB(t, c, c.Nodes[1]), "INSERT INTO app.t VALUES (4, 'after node 1 stopped')")
		if err := d.Stop(enginetest.Ctx(t), c); err != nil {
			t.Fatal(err)
		}
		obs, err := d.Observe(enginetest.Ctx(t), c)
		if err != nil {
			t.Fatal(err)
		}
		for i, ns := range obs.Nodes {
			if ns.Status == engine.NodeActive {
				t.Fatalf("node %d ACTIVE after Stop", i)
			}
		}
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		clusterSize(t, 3)
		for _, n := range c.Nodes {
			expectRow(t, adminDB(t, c, n), 4, "after node 1 stopped")
		}
	})

	t.Run("CrashedClusterRecovers", func(t *testing.T) {
		mustExec(t, adminDB(t, c, c.Nodes[2]), "INSERT INTO app.t VALUES (5, 'before the crash')")
		killNodes(t, 0, 1, 2)
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		clusterSize(t, 3)
		for _, n := range c.Nodes {
			expectRow(t, adminDB(t, c, n), 5, "before the crash")
		}
	})

	t.Run("SurvivorWithoutQuorumIsRevived", func(t *testing.T) {
		killNodes(t, 0, 1)
		eventually(t, 30*time.Second, func() error {
			g, err := galeraStatus(context.Background(), adminDB(t, c, c.Nodes[2]))
			if err != nil {
				return err
			}
			if g.ClusterStatus == "Primary" {
				return fmt.Errorf("survivor still in a primary component")
			}
			return nil
		})
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		clusterSize(t, 3)
		mustExec(t, adminDB(t, c, c.Nodes[0]), "INSERT INTO app.t VALUES (6, 'after the revival')")
		expectRow(t, adminDB(t, c, c.Nodes[2]), 6, "after the revival")
	})

	t.Run("RollingRestartForReadOnlyVariable", func(t *testing.T) {
		var before []int
		for i := range c.Nodes {
			before = append(before, d.PIDs(c, &c.Nodes[i])[0])
		}
		c.Config = map[string]any{"innodb_log_buffer_size": float64(8 << 20), "max_allowed_packet": float64(32 << 20)}
		ensure(t, d, c)
		clusterSize(t, 3)
		for i, n := range c.Nodes {
			db := adminDB(t, c, n)
			if got := mustQuery(t, db, "SELECT @@GLOBAL.innodb_log_buffer_size"); got != "8388608" {
				t.Errorf("node %d innodb_log_buffer_size = %s", i, got)
			}
			if got := mustQuery(t, db, "SELECT @@GLOBAL.max_allowed_packet"); got != "33554432" {
				t.Errorf("node %d max_allowed_packet = %s", i, got)
			}
			if pids := d.PIDs(c, &c.Nodes[i]); len(pids) == 0 || pids[0] == before[i] {
				t.Errorf("node %d was not restarted", i)
			}
		}
		expectRow(t, adminDB(t, c, c.Nodes[1]), 6, "after the revival")
	})

	t.Run("ScaleDownToTwo", func(t *testing.T) {
		c.Nodes = c.Nodes[:2]
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		clusterSize(t, 2)
	})
}

// TestGaleraPlainClusterMovesToTLS starts a cluster as dbaasd did before
// Galera's traffic was encrypted, then ensures it: every node restarts with
// TLS (all at once: members with and without TLS cannot talk) and keeps its
// data.
func TestGaleraPlainClusterMovesToTLS(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	d.plainGalera = true
	c := newTestCluster(t, d, 3)
	db := adminDB(t, c, c.Nodes[1])
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(32))")
	mustExec(t, db, "INSERT INTO app.t VALUES (1, 'before TLS')")
	var before []int
	for i, n := range c.Nodes {
		if opts := mustQuery(t, adminDB(t, c, n), "SELECT @@GLOBAL.wsrep_provider_options"); strings.Contains(opts, "socket.ssl = YES") {
			t.Fatalf("node %d runs with TLS already", i)
		}
		before = append(before, d.PIDs(c, &c.Nodes[i])[0])
	}

	d.plainGalera = false
	ensure(t, d, c)
	enginetest.WaitObserved(t, d, c)
	for i, n := range c.Nodes {
		db := adminDB(t, c, n)
		if opts := mustQuery(t, db, "SELECT @@GLOBAL.wsrep_provider_options"); !strings.Contains(opts, "socket.ssl = YES") {
			t.Errorf("node %d runs without TLS: %s", i, opts)
		}
		if pids := d.PIDs(c, &c.Nodes[i]); len(pids) == 0 || pids[0] == before[i] {
			t.Errorf("node %d was not restarted", i)
		}
		if got := mustStatus(t, db, "wsrep_cluster_size"); got != "3" {
			t.Errorf("node %d: wsrep_cluster_size = %s", i, got)
		}
		expectRow(t, db, 1, "before TLS")
	}
	mustExec(t, adminDB(t, c, c.Nodes[2]), "INSERT INTO app.t VALUES (2, 'with TLS')")
	expectRow(t, adminDB(t, c, c.Nodes[0]), 2, "with TLS")
}

// TestGaleraNeedsAllocatedPorts: a Galera node listens only on ports
// dbaasd allocated for it; without them Ensure refuses to guess.
func TestGaleraNeedsAllocatedPorts(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	c := enginetest.NewCluster(t, d.Name(), 3)
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	if names := d.NodePorts(c); len(names) != 3 {
		t.Fatalf("NodePorts = %v, want gcomm, ist, sst", names)
	}
	if names := d.NodePorts(&engine.Cluster{Nodes: c.Nodes[:1]}); names != nil {
		t.Errorf("a single server asks for ports %v", names)
	}
	if err := d.Ensure(enginetest.Ctx(t), c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure without allocated ports: %v, want ErrInvalid", err)
	}
	for i := range c.Nodes {
		if pids := d.PIDs(c, &c.Nodes[i]); len(pids) > 0 {
			t.Errorf("node %d started without allocated ports", i)
		}
	}
}
