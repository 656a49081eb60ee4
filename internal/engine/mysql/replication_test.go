package mysql

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestNativeReplication(t *testing.T) {
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 3)
	enginetest.WaitObserved(t, d, c)
	primary := adminDB(t, c, c.Nodes[0])
	mustExec(t, primary, "CREATE DATABASE app")
	mustExec(t, primary, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(32))")
	mustExec(t, primary, "INSERT INTO app.t VALUES (1, 'written on the primary')")

	// The replicas of a new cluster start with the primary from the
	// template and replicate from its first position: none is a copy
	// taken from the running primary.
	t.Run("NewReplicasStartFromTemplate", func(t *testing.T) {
		for _, n := range c.Nodes[1:] {
			for _, f := range []string{"mariadb_backup_checkpoints", "xtrabackup_checkpoints", "mariadb_backup_info", "xtrabackup_info"} {
				if _, err := os.Stat(filepath.Join(newNode(nil, n).dataDir(), f)); err == nil {
					t.Errorf("replica %s was cloned from the primary (%s)", n.ID, f)
				}
			}
		}
	})

	t.Run("SemiSync", func(t *testing.T) {
		if got := mustStatus(t, primary, "Rpl_semi_sync_master_status"); got != "ON" {
			t.Errorf("Rpl_semi_sync_master_status = %s, want ON", got)
		}
		if got := mustStatus(t, primary, "Rpl_semi_sync_master_clients"); got != "2" {
			t.Errorf("Rpl_semi_sync_master_clients = %s, want 2", got)
		}
		if got := mustStatus(t, primary, "Rpl_semi_sync_master_yes_tx"); got == "0" {
			t.Errorf("no transaction was acknowledged by a replica (Rpl_semi_sync_master_yes_tx = %s)", got)
		}
	})

	t.Run("ReplicasReadOnlyAndStreaming", func(t *testing.T) {
		for _, n := range c.Nodes[1:] {
			db := adminDB(t, c, n)
			expectRow(t, db, 1, "written on the primary")
			if ro := mustQuery(t, db, "SELECT @@GLOBAL.read_only"); ro != "1" {
				t.Errorf("replica %s read_only = %s", n.ID, ro)
			}
			if got := mustStatus(t, db, "Rpl_semi_sync_slave_status"); got != "ON" {
				t.Errorf("replica %s Rpl_semi_sync_slave_status = %s", n.ID, got)
			}
			st, err := scanMap(context.Background(), db, "SHOW SLAVE STATUS")
			if err != nil || st == nil || st["Using_Gtid"] != "Slave_Pos" {
				t.Errorf("replica %s slave status %v (err %v), want GTID replication", n.ID, st, err)
			}
		}
		if ro := mustQuery(t, primary, "SELECT @@GLOBAL.read_only"); ro != "0" {
			t.Errorf("primary read_only = %s", ro)
		}
	})

	t.Run("APIUserCannotWriteOnReplica", func(t *testing.T) {
		u := engine.User{Name: "app", Password: "App-Secret-1"}
		if err := d.EnsureUser(enginetest.Ctx(t), c, u); err != nil {
			t.Fatal(err)
		}
		if err := d.EnsureGrant(enginetest.Ctx(t), c, engine.Grant{User: "app", Database: "app"}); err != nil {
			t.Fatal(err)
		}
		mustExec(t, tcpDB(t, "tcp", c.Nodes[0], u.Name, u.Password, "app"), "INSERT INTO t VALUES (2, 'by the API user')")
		rdb := tcpDB(t, "tcp", c.Nodes[1], u.Name, u.Password, "app")
		expectRow(t, rdb, 2, "by the API user")
		if _, err := rdb.Exec("INSERT INTO t VALUES (3, 'on a replica')"); err == nil {
			t.Error("an API user wrote on a read-only replica")
		}
	})

	// The replication account, tried as an attacker would: it needs a
	// password no API user knows, logs in from the cluster's nodes only
	// (the firewall does not apply to it) and can do nothing but
	// replicate.
	t.Run("ReplicationAccount", func(t *testing.T) {
		pw := derivedSecret(c.AdminPassword, "replication")
		for _, guess := range []string{"", "dbaasd_repl", "replication", c.AdminPassword} {
			if err := tcpDB(t, "tcp", c.Nodes[0], replUser, guess, "").Ping(); err == nil {
				t.Errorf("%s logged in with the password %q", replUser, guess)
			}
		}
		if err := tcpDB(t, fromAddr("repl-from-127.0.0.3", "127.0.0.3"), c.Nodes[0], replUser, pw, "").Ping(); err == nil {
			t.Errorf("%s logged in from 127.0.0.3, which is no node's address", replUser)
		}
		repl := tcpDB(t, "tcp", c.Nodes[0], replUser, pw, "")
		if err := repl.Ping(); err != nil {
			t.Fatalf("%s cannot log in from a node: %v", replUser, err)
		}
		for _, q := range []string{"SELECT COUNT(*) FROM mysql.user", "SELECT COUNT(*) FROM app.t", "CREATE DATABASE repl_was_here", "SET GLOBAL read_only = ON"} {
			if _, err := repl.Exec(q); err == nil {
				t.Errorf("%s could %s", replUser, q)
			}
		}
		if hosts := mustQuery(t, primary, "SELECT GROUP_CONCAT(Host) FROM mysql.user WHERE User = ?", replUser); hosts != "127.0.0.1" {
			t.Errorf("%s has host entries %q, want the nodes' address only", replUser, hosts)
		}
		if err := d.EnsureUser(enginetest.Ctx(t), c, engine.User{Name: replUser, Password: "Take-over-1"}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("an API user named %s: %v, want refused", replUser, err)
		}
	})

	t.Run("ObservedRoles", func(t *testing.T) {
		obs, err := d.Observe(enginetest.Ctx(t), c)
		if err != nil {
			t.Fatal(err)
		}
		for i, ns := range obs.Nodes {
			if ns.Status != engine.NodeActive || ns.Role != c.Nodes[i].Role {
				t.Errorf("node %d observed %+v, want ACTIVE %s", i, ns, c.Nodes[i].Role)
			}
		}
	})

	t.Run("KilledReplicaCatchesUp", func(t *testing.T) {
		for _, pid := range d.PIDs(c, &c.Nodes[2]) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		mustExec(t, primary, "INSERT INTO app.t VALUES (4, 'while a replica was down')")
		ensure(t, d, c)
		expectRow(t, adminDB(t, c, c.Nodes[2]), 4, "while a replica was down")
	})

	t.Run("Switchover", func(t *testing.T) {
		c.Nodes[0].Role, c.Nodes[1].Role = engine.RoleReplica, engine.RoleMaster
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		newPrimary := adminDB(t, c, c.Nodes[1])
		mustExec(t, newPrimary, "INSERT INTO app.t VALUES (5, 'on the new primary')")
		for _, i := range []int{0, 2} {
			db := adminDB(t, c, c.Nodes[i])
			expectRow(t, db, 5, "on the new primary")
			if ro := mustQuery(t, db, "SELECT @@GLOBAL.read_only"); ro != "1" {
				t.Errorf("node %d read_only = %s after switchover", i, ro)
			}
		}
		if got := mustStatus(t, newPrimary, "Rpl_semi_sync_master_clients"); got != "2" {
			t.Errorf("new primary has %s semi-sync clients, want 2", got)
		}
	})

	t.Run("StopAndStartAgain", func(t *testing.T) {
		if err := d.Stop(enginetest.Ctx(t), c); err != nil {
			t.Fatal(err)
		}
		for i := range c.Nodes {
			if pids := d.PIDs(c, &c.Nodes[i]); len(pids) > 0 {
				t.Fatalf("node %d still runs %v after Stop", i, pids)
			}
		}
		ensure(t, d, c)
		enginetest.WaitObserved(t, d, c)
		mustExec(t, adminDB(t, c, c.Nodes[1]), "INSERT INTO app.t VALUES (6, 'after a restart')")
		expectRow(t, adminDB(t, c, c.Nodes[0]), 6, "after a restart")
	})
}

// A former primary that committed what no replica received (it was killed
// before any acknowledged it) cannot replicate from the new primary
// (MariaDB error 1236); Ensure copies the new primary onto it instead of
// waiting for replication that never starts, and its unacknowledged
// transaction goes.
func TestDivergedFormerPrimaryIsCopiedAgain(t *testing.T) {
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 2)
	enginetest.WaitObserved(t, d, c)
	primary := adminDB(t, c, c.Nodes[0])
	mustExec(t, primary, "CREATE DATABASE app")
	mustExec(t, primary, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(32))")
	mustExec(t, primary, "INSERT INTO app.t VALUES (1, 'everywhere')")
	replica := adminDB(t, c, c.Nodes[1])
	expectRow(t, replica, 1, "everywhere")

	// The replica stops receiving; the primary commits alone (no replica
	// to wait for) and dies.
	mustExec(t, replica, "STOP SLAVE")
	mustExec(t, primary, "SET GLOBAL rpl_semi_sync_master_enabled = OFF")
	mustExec(t, primary, "INSERT INTO app.t VALUES (2, 'never acknowledged')")
	for _, pid := range d.PIDs(c, &c.Nodes[0]) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}

	// Failover: the replica becomes the primary and takes writes.
	c.Nodes[0].Role, c.Nodes[1].Role = engine.RoleReplica, engine.RoleMaster
	ensure(t, d, c)
	mustExec(t, adminDB(t, c, c.Nodes[1]), "INSERT INTO app.t VALUES (3, 'on the new primary')")

	former := adminDB(t, c, c.Nodes[0])
	expectRow(t, former, 3, "on the new primary")
	if n := mustQuery(t, former, "SELECT COUNT(*) FROM app.t WHERE id = 2"); n != "0" {
		t.Errorf("the former primary kept its unacknowledged row (%s)", n)
	}
	st, err := scanMap(context.Background(), former, "SHOW SLAVE STATUS")
	if err != nil || st == nil || st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes" {
		t.Errorf("the former primary does not replicate: %v (%v)", st, err)
	}
}
