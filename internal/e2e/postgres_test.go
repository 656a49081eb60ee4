package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

const wait = 90 * time.Second

// pgConnect connects with pgx using only what the API returned: an address
// from `connection` and the credentials the test gave the API. localIP, when
// set, is the source address of the connection.
func pgConnect(t *testing.T, addr, user, password, db, localIP string) (*pgx.Conn, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable connect_timeout=5",
		host, port, user, password, db))
	if err != nil {
		t.Fatal(err)
	}
	if localIP != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
		cfg.DialFunc = d.DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

func mustConnect(t *testing.T, addr, user, password, db string) *pgx.Conn {
	t.Helper()
	c, err := pgConnect(t, addr, user, password, db, "")
	if err != nil {
		t.Fatalf("connect to %s as %s/%s: %v", addr, user, db, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// TestPostgreSQLEndToEnd creates real clusters through the API and checks
// every capability in the server itself.
func TestPostgreSQLEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "pg-e2e", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master, pooler := r.Str("datastore.connection.master"), r.Str("datastore.connection.pooler")
	if master == "" || pooler == "" || r.Str("datastore.instances.0.role") != "MASTER" ||
		r.Str("datastore.instances.0.status") != "ACTIVE" || r.Get("datastore.creation_finished_at") == nil {
		t.Fatalf("active datastore lacks addresses or roles: %s", r.Body)
	}

	// Users, databases, grants.
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "app_user", "password": "Secret-pass-1"}}).Str("user.id")
	other := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "other_user", "password": "Secret-pass-2"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/users/"+other, "user", "ACTIVE", wait)
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "appdb", "owner_id": user,
		"lc_collate": "C", "lc_ctype": "C"}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	appConn := mustConnect(t, master, "app_user", "Secret-pass-1", "appdb")
	if got := pgtest.QueryOne[string](t, appConn, "SELECT pg_get_userbyid(datdba)::text || '/' || datcollate FROM pg_database WHERE datname = 'appdb'"); got != "app_user/C" {
		t.Errorf("owner/collation = %q", got)
	}
	if _, err := pgConnect(t, master, "app_user", "wrong-password", "appdb", ""); err == nil {
		t.Error("a wrong password was accepted")
	}
	if ok := pgtest.QueryOne[bool](t, appConn, "SELECT has_database_privilege('other_user', 'appdb', 'CONNECT')"); ok {
		t.Error("other_user may connect before any grant")
	}
	grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": other}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
	if ok := pgtest.QueryOne[bool](t, appConn, "SELECT has_database_privilege('other_user', 'appdb', 'CONNECT')"); !ok {
		t.Error("other_user may not connect after the grant")
	}
	otherConn := mustConnect(t, master, "other_user", "Secret-pass-2", "appdb")
	if _, err := otherConn.Exec(context.Background(), "CREATE TABLE granted_t (x int); INSERT INTO granted_t VALUES (1)"); err != nil {
		t.Errorf("granted user cannot create a table: %v", err)
	}
	// Password change takes effect.
	at.MustPut(t, e, "/v1/users/"+other, map[string]any{"user": map[string]any{"password": "Changed-pass-3"}})
	e.WaitStatus(at.TokenA, "/v1/users/"+other, "user", "ACTIVE", wait)
	if _, err := pgConnect(t, master, "other_user", "Secret-pass-2", "appdb", ""); err == nil {
		t.Error("the old password still works")
	}
	mustConnect(t, master, "other_user", "Changed-pass-3", "appdb")
	// A user who owns a database cannot be deleted.
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/users/"+user, nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "owns database") {
		t.Errorf("deleting an owner: %d %s", r.Status, r.Body)
	}

	// Extensions, with their dependencies.
	ext := e.Do(at.TokenA, http.MethodGet, "/v1/available-extensions?name=earthdistance", nil)
	if deps := ext.Get("available-extensions.0.dependency_ids").([]any); len(deps) != 1 {
		t.Fatalf("earthdistance dependencies: %s", ext.Body)
	}
	extID := at.MustPost(t, e, "/v1/extensions", map[string]any{"extension": map[string]any{"datastore_id": ds, "database_id": db,
		"available_extension_id": ext.Str("available-extensions.0.id")}}).Str("extension.id")
	e.WaitStatus(at.TokenA, "/v1/extensions/"+extID, "extension", "ACTIVE", wait)
	if n := pgtest.QueryOne[int](t, appConn, "SELECT count(*) FROM pg_extension WHERE extname IN ('cube', 'earthdistance')"); n != 2 {
		t.Errorf("pg_extension has %d of cube and earthdistance", n)
	}

	// Logical replication slot, with in_use and size read from the server.
	slot := at.MustPost(t, e, "/v1/logical-replication-slots", map[string]any{"logical-replication-slot": map[string]any{"datastore_id": ds,
		"database_id": db, "name": "e2e_slot"}}).Str("logical-replication-slot.id")
	e.WaitStatus(at.TokenA, "/v1/logical-replication-slots/"+slot, "logical-replication-slot", "ACTIVE", wait)
	if n := pgtest.QueryOne[int](t, appConn, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'e2e_slot' AND slot_type = 'logical'"); n != 1 {
		t.Error("slot missing in pg_replication_slots")
	}
	if _, err := appConn.Exec(context.Background(), "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		s := e.Do(at.TokenA, http.MethodGet, "/v1/logical-replication-slots/"+slot, nil)
		if size, _ := s.Get("logical-replication-slot.size").(float64); size > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot size never observed: %s", s.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A database with a slot cannot be deleted.
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/databases/"+db, nil); r.Status != http.StatusBadRequest {
		t.Errorf("deleting a database with a slot: %d %s", r.Status, r.Body)
	}

	// Configuration: a reload parameter and a restart parameter.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"work_mem": 8192, "max_connections": 150}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	c2 := mustConnect(t, master, "app_user", "Secret-pass-1", "appdb")
	if v := pgtest.QueryOne[string](t, c2, "SHOW work_mem"); v != "8MB" {
		t.Errorf("work_mem = %s", v)
	}
	if v := pgtest.QueryOne[string](t, c2, "SHOW max_connections"); v != "150" {
		t.Errorf("max_connections = %s", v)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"work_mem": "lots"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "config.work_mem") {
		t.Errorf("invalid config value: %d %s", r.Status, r.Body)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"no_such_param": 1}}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown parameter: %d %s", r.Status, r.Body)
	}
	at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"work_mem": nil}})
	got := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if _, still := got.Get("datastore.config").(map[string]any)["work_mem"]; still {
		t.Errorf("null did not reset work_mem: %s", got.Body)
	}

	// Pooler: a query through PgBouncer, and a mode change.
	poolConn := mustConnect(t, pooler, "app_user", "Secret-pass-1", "appdb")
	if n := pgtest.QueryOne[int](t, poolConn, "SELECT count(*) FROM filler"); n != 20000 {
		t.Errorf("through the pooler: %d rows", n)
	}
	at.MustPut(t, e, "/v1/datastores/"+ds+"/pooler", map[string]any{"pooler": map[string]any{"mode": "session", "size": 5}})
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if r.Str("datastore.pooler.mode") != "session" || r.Get("datastore.pooler.size") != float64(5) {
		t.Errorf("pooler not updated: %s", r.Body)
	}
	mustConnect(t, pooler, "app_user", "Secret-pass-1", "appdb")

	// Firewall: a connection from an address not on the list is refused.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"127.0.0.1"}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if _, err := pgConnect(t, master, "app_user", "Secret-pass-1", "appdb", "127.0.0.2"); err == nil {
		t.Error("a connection from 127.0.0.2 was accepted with firewall [127.0.0.1]")
	}
	if c, err := pgConnect(t, master, "app_user", "Secret-pass-1", "appdb", "127.0.0.1"); err != nil {
		t.Errorf("a connection from 127.0.0.1 was refused: %v", err)
	} else {
		_ = c.Close(context.Background())
	}
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if c, err := pgConnect(t, master, "app_user", "Secret-pass-1", "appdb", "127.0.0.2"); err != nil {
		t.Errorf("with an empty firewall 127.0.0.2 is refused: %v", err)
	} else {
		_ = c.Close(context.Background())
	}

	// Floating IP: an extra address reaches the primary.
	inst := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.instances.0.id")
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/floating-ips", map[string]any{"floating_ip": map[string]any{"instance_id": inst}}); r.Status != http.StatusCreated {
		t.Fatalf("floating ip: %d %s", r.Status, r.Body)
	}
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	fip := r.Str("datastore.instances.0.floating_ip")
	_, port, _ := net.SplitHostPort(master)
	if fip == "" {
		t.Fatalf("no floating ip: %s", r.Body)
	}
	mustConnect(t, net.JoinHostPort(fip, port), "app_user", "Secret-pass-1", "appdb")

	// Resize: a bigger flavor re-tunes the server; a replica is added.
	before := pgtest.QueryOne[string](t, mustConnect(t, master, "app_user", "Secret-pass-1", "appdb"), "SHOW shared_buffers")
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+ds+"/resize", map[string]any{"resize": map[string]any{
		"flavor": map[string]any{"vcpus": 2, "ram": 2048, "disk": 6}, "node_count": 2}}); r.Status != http.StatusOK || r.Str("datastore.status") != "RESIZING" {
		t.Fatalf("resize: %d %s", r.Status, r.Body)
	}
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	after := pgtest.QueryOne[string](t, mustConnect(t, master, "app_user", "Secret-pass-1", "appdb"), "SHOW shared_buffers")
	if before == after || len(r.Get("datastore.instances").([]any)) != 2 || r.Str("datastore.connection.replica-1") == "" {
		t.Errorf("resize: shared_buffers %s → %s; %s", before, after, r.Body)
	}
	replica := mustConnect(t, r.Str("datastore.connection.replica-1"), "app_user", "Secret-pass-1", "appdb")
	if !pgtest.QueryOne[bool](t, replica, "SELECT pg_is_in_recovery()") || pgtest.QueryOne[int](t, replica, "SELECT count(*) FROM filler") != 20000 {
		t.Error("the new replica does not serve the primary's data")
	}

	// Protection mode refuses a delete; then the delete removes everything.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/protection", map[string]any{"protection": true})
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+ds, nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "protect") {
		t.Errorf("deleting a protected datastore: %d %s", r.Status, r.Body)
	}
	at.MustPut(t, e, "/v1/datastores/"+ds+"/protection", map[string]any{"protection": false})
	pids := postmasterPIDs(t, e.DataDir, ds)
	if len(pids) != 2 {
		t.Fatalf("found %d postmasters, want 2", len(pids))
	}
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+ds, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+ds, wait) // deleted: 404, as clients expect
	for _, pid := range pids {
		if proc.Alive(pid) {
			t.Errorf("postmaster %d still runs after delete", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(e.DataDir, "clusters", ds)); !os.IsNotExist(err) {
		t.Errorf("cluster directory still there after delete: %v", err)
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores?deleted=true", nil); len(r.Get("datastores").([]any)) != 1 {
		t.Errorf("deleted datastore not listed with deleted=true: %s", r.Body)
	}
}

// postmasterPIDs finds the postmaster PIDs of a datastore's nodes.
func postmasterPIDs(t *testing.T, dataDir, ds string) []int {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dataDir, "clusters", ds, "nodes", "*", "data", "postmaster.pid"))
	var out []int
	for _, m := range matches {
		if pid := proc.ReadPidFile(m); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// TestPostgreSQLThreeNodes checks streaming replication of a 3-node cluster.
func TestPostgreSQLThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "pg3", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	roles := map[string]int{}
	for _, in := range r.Get("datastore.instances").([]any) {
		roles[in.(map[string]any)["role"].(string)]++
	}
	if roles["MASTER"] != 1 || roles["REPLICA"] != 2 {
		t.Fatalf("roles %v", roles)
	}
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "u", "password": "Secret-pass-1"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "d", "owner_id": user}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	m := mustConnect(t, r.Str("datastore.connection.master"), "u", "Secret-pass-1", "d")
	if _, err := m.Exec(context.Background(), "CREATE TABLE t AS SELECT 42 AS x"); err != nil {
		t.Fatal(err)
	}
	// Replicas apply asynchronously (a commit waits for one of them): the
	// database itself may not be on a replica yet.
	for _, key := range []string{"replica-1", "replica-2"} {
		addr := r.Str("datastore.connection." + key)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var x int
			rc, err := pgConnect(t, addr, "u", "Secret-pass-1", "d", "")
			if err == nil {
				err = rc.QueryRow(context.Background(), "SELECT x FROM t").Scan(&x)
				_ = rc.Close(context.Background())
			}
			if err == nil && x == 42 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never saw the row: %v", key, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	super := superConn(t, e.DataDir, ds)
	// The first base backup (pg_basebackup -X stream) may be streaming too.
	if n := pgtest.QueryOne[int](t, super, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name <> 'pg_basebackup'"); n != 2 {
		t.Errorf("pg_stat_replication shows %d streaming replicas", n)
	}
}

// superConn connects as the superuser over the primary's Unix socket (as
// dbaasd does) to inspect what users cannot see.
func superConn(t *testing.T, dataDir, ds string) *pgx.Conn {
	t.Helper()
	for _, pidFile := range mustGlob(t, filepath.Join(dataDir, "clusters", ds, "nodes", "*", "data", "postmaster.pid")) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 5 {
			continue
		}
		sock, port := lines[4], lines[3]
		if _, err := os.Stat(filepath.Join(filepath.Dir(pidFile), "standby.signal")); err == nil {
			continue
		}
		c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres", sock, port))
		if err != nil {
			t.Fatalf("superuser connection: %v", err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	t.Fatal("no primary found")
	return nil
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPostgreSQLSelfHealing kills a server: the datastore turns DEGRADED
// or DOWN within seconds, and dbaasd brings it back to ACTIVE.
func TestPostgreSQLSelfHealing(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 300 * time.Millisecond})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "heal", 1)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	pids := postmasterPIDs(t, e.DataDir, ds)
	if len(pids) != 1 {
		t.Fatalf("postmasters %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		s := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.status")
		seen[s] = true
		if s == "ACTIVE" && (seen["DOWN"] || seen["DEGRADED"]) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !seen["DOWN"] && !seen["DEGRADED"] {
		t.Errorf("the killed server was never reported DOWN or DEGRADED (saw %v)", seen)
	}
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if now := postmasterPIDs(t, e.DataDir, ds); len(now) != 1 || !proc.Alive(now[0]) || now[0] == pids[0] {
		t.Errorf("server not restarted: %v (was %v)", now, pids)
	}
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?name=datastore.repair&datastore_id="+ds, nil)
	if len(acts.Get("actions").([]any)) == 0 {
		t.Errorf("no repair action recorded: %s", acts.Body)
	}
	_ = r
}

// TestRestartDbaasdLeavesClustersRunning stops dbaasd while work is
// queued, starts it again, and finds the cluster untouched (same server
// process) and the queued work done.
func TestRestartDbaasdLeavesClustersRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "restart", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	pids := postmasterPIDs(t, e.DataDir, ds)
	e.Stop()
	if len(pids) != 1 || !proc.Alive(pids[0]) {
		t.Fatalf("stopping dbaasd stopped the cluster: %v", pids)
	}
	// Record work while dbaasd is down: it must be picked up at start.
	var userID string
	{
		again := at.Start(t, at.Options{DataDir: e.DataDir, StoreURL: e.StoreURL}) // API only: nothing converges
		userID = at.MustPost(t, again, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "late", "password": "Secret-pass-1"}}).Str("user.id")
		again.Stop()
	}
	third := at.Start(t, at.Options{Reconcile: true, DataDir: e.DataDir, StoreURL: e.StoreURL})
	third.WaitStatus(at.TokenA, "/v1/users/"+userID, "user", "ACTIVE", wait)
	if now := postmasterPIDs(t, e.DataDir, ds); len(now) != 1 || now[0] != pids[0] {
		t.Errorf("the server was restarted by a dbaasd restart: %v → %v", pids, now)
	}
	mustConnect(t, r.Str("datastore.connection.master"), "late", "Secret-pass-1", "postgres")
	third.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+ds, nil)
	third.WaitGone(at.TokenA, "/v1/datastores/"+ds, wait) // deleted: 404, as clients expect
}

// isParentOf reports whether parent is the parent process of child.
func isParentOf(parent, child int) bool {
	st, err := proc.ReadStat(child)
	return err == nil && st.PPID == parent
}
