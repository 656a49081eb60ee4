package kubernetes_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// myConnect opens a MySQL connection with only what the API returned.
func myConnect(addr, user, password, db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName, cfg.Addr, cfg.Net = user, password, db, addr, "tcp"
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	d := sql.OpenDB(c)
	d.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.PingContext(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func mustMy(t *testing.T, addr, user, password, db string) *sql.DB {
	t.Helper()
	var err error
	// A Service's rules reach kube-proxy a moment after the API answers.
	for range 20 {
		var d *sql.DB
		if d, err = myConnect(addr, user, password, db); err == nil {
			t.Cleanup(func() { _ = d.Close() })
			return d
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("connect to %s as %s/%s: %v", addr, user, db, err)
	return nil
}

func myExec(t *testing.T, d *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func myQuery[T any](t *testing.T, d *sql.DB, q string) T {
	t.Helper()
	var v T
	if err := d.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// addresses are the datastore's node addresses, master first.
func addresses(r *at.Response) []string {
	out := []string{r.Str("datastore.connection.master")}
	for i := 1; ; i++ {
		a := r.Str(fmt.Sprintf("datastore.connection.replica-%d", i))
		if a == "" {
			return out
		}
		out = append(out, a)
	}
}

// TestMySQLOnKubernetes creates a three-node datastore of each MySQL engine
// through the API (semi-sync replication and Galera, both through
// mariadb-operator) and checks, through the addresses the API gives, that
// every object and setting really is in the servers; then kills the
// semi-sync primary's pod, resizes and deletes.
func TestMySQLOnKubernetes(t *testing.T) {
	b := at.KubernetesBed(t)
	o := b.Options(t)
	o.BackupInterval = 20 * time.Second // a snapshot soon after the rows below
	e := at.Start(t, o)
	k := bedClient(t, b)

	t0 := time.Now()
	ds := e.CreateDatastore(at.TokenA, "mysql_native", "my-k8s", 3)
	gal := e.CreateDatastore(at.TokenA, "mysql", "galera-k8s", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	t.Logf("mysql_native create → ACTIVE with 3 nodes: %s", time.Since(t0).Round(time.Second))
	rg := e.WaitStatus(at.TokenA, "/v1/datastores/"+gal, "datastore", "ACTIVE", wait)
	t.Logf("mysql (Galera) create → ACTIVE with 3 nodes: %s", time.Since(t0).Round(time.Second))
	for _, id := range []string{ds, gal} {
		if n, names := readyPods(t, k, id, mariadbServers); n != 3 {
			t.Fatalf("%d of 3 server pods ready (%v)", n, names)
		}
	}
	addrs := addresses(r)
	if len(addrs) != 3 || addrs[0] == "" || master(r) == "" {
		t.Fatalf("an ACTIVE datastore lacks addresses or roles: %s", r.Body)
	}
	addr := addrs[0]

	// Users, a database and a grant, made on the primary and replicated.
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "app_user", "password": "Secret-pass-1"}}).Str("user.id")
	other := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "other_user", "password": "Secret-pass-2"}}).Str("user.id")
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "appdb"}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/users/"+other, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": user}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
	app := mustMy(t, addr, "app_user", "Secret-pass-1", "appdb")
	myExec(t, app, "CREATE TABLE t (id int PRIMARY KEY, v text)")
	for i := 1; i <= 100; i++ {
		myExec(t, app, "INSERT INTO t VALUES (?, 'row')", i)
	}
	wrote := time.Now().UTC()
	if _, err := myConnect(addr, "other_user", "Secret-pass-2", "appdb"); err == nil {
		t.Error("other_user uses appdb without a grant")
	}
	// Every replica has the rows and refuses the tenant's writes.
	for _, a := range addrs[1:] {
		rep := mustMy(t, a, "app_user", "Secret-pass-1", "appdb")
		var n int
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if n = myQuery[int](t, rep, "SELECT count(*) FROM t"); n == 100 {
				break
			}
		}
		if n != 100 {
			t.Errorf("replica %s has %d rows", a, n)
		}
		if _, err := rep.Exec("INSERT INTO t VALUES (999, 'on a replica')"); err == nil {
			t.Errorf("replica %s took a tenant's write", a)
		}
	}
	// Metrics come from every server; the error log from the pods.
	checkMetrics(t, e, ds, "appdb", 1)
	checkMyLogs(t, e, ds, addr)

	// Replication between the servers is encrypted and the primary's
	// certificate checked (the operator's TLS, a CA per datastore).
	root := rootOf(t, k, ds)
	if st := slaveStatus(t, mustMy(t, addrs[1], "root", root, "")); st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_Verify_Server_Cert"] != "Yes" {
		t.Errorf("a replica's replication is not over verified TLS: %v", st)
	}

	// The tenant reaches neither the superuser's rights nor the operator's
	// accounts.
	for _, q := range []string{"SELECT count(*) FROM mysql.user", "SET GLOBAL read_only = 1", "CREATE USER x IDENTIFIED BY 'Secret-pass-9'"} {
		if _, err := app.Exec(q); err == nil {
			t.Errorf("the tenant ran %q", q)
		}
	}
	for _, name := range []string{"root", "repl", "healthcheck"} {
		r := e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": name, "password": "Secret-pass-9"}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("a user named %s: %d %s", name, r.Status, r.Body)
		}
	}

	// Configuration reaches every server; a value MariaDB refuses is
	// refused before it is accepted.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"long_query_time": 5}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	for _, a := range addrs {
		if v := myQuery[float64](t, mustMy(t, a, "app_user", "Secret-pass-1", "appdb"), "SELECT @@long_query_time"); v != 5 {
			t.Errorf("long_query_time = %v at %s after PUT config", v, a)
		}
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"long_query_time": "soon"}}); r.Status != http.StatusBadRequest {
		t.Errorf("a value MariaDB refuses: %d %s", r.Status, r.Body)
	}

	// Firewall: an address outside it is refused by MariaDB (this host, as
	// the servers see it); dbaasd still manages users.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"192.0.2.10"}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if d, err := myConnect(addr, "app_user", "Secret-pass-1", "appdb"); err == nil {
		_ = d.Close()
		t.Error("a connection from outside the firewall was accepted")
	} else if !strings.Contains(err.Error(), "not allowed to connect") && !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("outside the firewall: %v", err)
	}
	third := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "third_user", "password": "Secret-pass-3"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+third, "user", "ACTIVE", wait)
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	mustMy(t, addr, "third_user", "Secret-pass-3", "")

	// Backups: dbaasd dumps the tenant's databases on the primary every
	// 20 s here; a restore loads the newest into a new datastore, whose
	// users come back from their records.
	if b["DBAAS_K8S_S3_ENDPOINT"] != "" {
		rr, restored := restoreAfter(t, e, "mysql_native", ds, wrote, 1)
		users := e.Do(at.TokenA, http.MethodGet, "/v1/users?datastore_id="+restored, nil)
		for i := range users.Get("users").([]any) {
			e.WaitStatus(at.TokenA, "/v1/users/"+users.Str(fmt.Sprintf("users.%d.id", i)), "user", "ACTIVE", wait)
		}
		rd := mustMy(t, rr.Str("datastore.connection.master"), "app_user", "Secret-pass-1", "appdb")
		if n := myQuery[int](t, rd, "SELECT count(*) FROM t"); n != 100 {
			t.Errorf("the restored datastore has %d rows, want 100", n)
		}
		_ = rd.Close()
		deleteRestored(t, e, restored)
	} else {
		checkNoRestore(t, e, "mysql_native", ds)
	}

	// Galera: a write on one node is on every node at once.
	gaddrs := addresses(rg)
	guser := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": gal, "name": "g_user", "password": "Secret-pass-4"}}).Str("user.id")
	gdb := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": gal, "name": "gdb"}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+guser, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/databases/"+gdb, "database", "ACTIVE", wait)
	ggrant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": gal, "database_id": gdb, "user_id": guser}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+ggrant, "grant", "ACTIVE", wait)
	g := mustMy(t, gaddrs[0], "g_user", "Secret-pass-4", "gdb")
	myExec(t, g, "CREATE TABLE g (id int PRIMARY KEY)")
	myExec(t, g, "INSERT INTO g VALUES (1), (2), (3)")
	for _, a := range gaddrs {
		n := mustMy(t, a, "g_user", "Secret-pass-4", "gdb")
		myExec(t, n, "SET SESSION wsrep_sync_wait = 1")
		if c := myQuery[int](t, n, "SELECT count(*) FROM g"); c != 3 {
			t.Errorf("Galera node %s has %d rows", a, c)
		}
		if size := myQuery[int](t, n, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'"); size != 3 {
			t.Errorf("Galera node %s sees a cluster of %d", a, size)
		}
	}
	gopts := myQuery[string](t, mustMy(t, gaddrs[1], "root", rootOf(t, k, gal), ""), "SELECT @@wsrep_provider_options")
	if !regexp.MustCompile(`(^|;)\s*socket\.ssl = (YES|yes|ON|1|true)\s*(;|$)`).MatchString(gopts) {
		t.Errorf("Galera's traffic is not over TLS: %s", gopts)
	}
	deleteAndCheck(t, e, k, gal)

	// Failover: the primary's pod goes; the operator promotes a replica,
	// the API reports the new roles, and writes go on at the new master
	// address with every acknowledged row.
	oldMaster := master(e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil))
	t1 := time.Now()
	newAddr := failPrimary(t, e, k, ds, mariadbPrimary, oldMaster)
	var conn *sql.DB
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		d, err := myConnect(newAddr, "app_user", "Secret-pass-1", "appdb")
		if err == nil {
			if _, err = d.Exec("INSERT INTO t VALUES (1000, 'after failover')"); err == nil {
				conn = d
				break
			}
			_ = d.Close()
		}
	}
	if conn == nil {
		t.Fatalf("no write accepted at the new master %s", newAddr)
	}
	t.Logf("primary pod deleted → first write on the new primary: %s", time.Since(t1).Round(100*time.Millisecond))
	if n := myQuery[int](t, conn, "SELECT count(*) FROM t"); n != 101 {
		t.Errorf("after failover the table has %d rows, want 101", n)
	}
	_ = conn.Close()
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)

	// A bigger disk is refused before it is accepted (the bed's storage
	// class cannot expand volumes).
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+ds+"/resize", map[string]any{"resize": map[string]any{
		"flavor": map[string]any{"vcpus": 1, "ram": 1024, "disk": 10}}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "does not allow volume expansion") {
		t.Errorf("a bigger disk on volumes that cannot grow: %d %s", r.Status, r.Body)
	}

	// Resize: a bigger flavor re-tunes the servers, one replica goes.
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+ds+"/resize", map[string]any{"resize": map[string]any{
		"flavor": map[string]any{"vcpus": 1, "ram": 2048, "disk": 5}, "node_count": 2}}); r.Status != http.StatusOK {
		t.Fatalf("resize: %d %s", r.Status, r.Body)
	}
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if got := len(r.Get("datastore.instances").([]any)); got != 2 {
		t.Errorf("after resize %d instances", got)
	}
	if n, names := readyPods(t, k, ds, mariadbServers); n != 2 || len(names) != 2 {
		t.Errorf("after resize %d ready of %v", n, names)
	}
	m := mustMy(t, r.Str("datastore.connection.master"), "app_user", "Secret-pass-1", "appdb")
	if v := myQuery[int64](t, m, "SELECT @@innodb_buffer_pool_size"); v != 640<<20 {
		t.Errorf("innodb_buffer_pool_size = %d after resize to 2048 MB", v)
	}
	if n := myQuery[int](t, m, "SELECT count(*) FROM t"); n != 101 {
		t.Errorf("after resize the table has %d rows", n)
	}
	deleteAndCheck(t, e, k, ds)
}

// rootOf is the password of a MySQL datastore's root, read from its
// secret with the bed's admin access (a tenant has neither).
func rootOf(t *testing.T, k kubernetes.Interface, ds string) string {
	t.Helper()
	sec, err := k.CoreV1().Secrets(kube.Namespace(ds)).Get(context.Background(), "mariadb-root", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(sec.Data["password"])
}

// slaveStatus is SHOW SLAVE STATUS as column → value.
func slaveStatus(t *testing.T, d *sql.DB) map[string]string {
	t.Helper()
	rows, err := d.Query("SHOW SLAVE STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	out := map[string]string{}
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			out[c] = vals[i].String
		}
	}
	return out
}

// checkMyLogs: a refused login at the primary's address is in MariaDB's
// error log as the API serves it, read from the pod, with the user and the
// client's address.
func checkMyLogs(t *testing.T, e *at.Env, ds, addr string) {
	t.Helper()
	if d, err := myConnect(addr, "app_user", "Wrong-Password-9", "appdb"); err == nil {
		_ = d.Close()
		t.Fatal("a wrong password was accepted")
	}
	path := "/v1/datastores/" + ds + "/logs?job=mysql-error&limit=50"
	var found map[string]any
	for deadline := time.Now().Add(time.Minute); found == nil; time.Sleep(time.Second) {
		r := e.Do(at.TokenA, http.MethodGet, path, nil)
		lines, _ := r.Get("logs").([]any)
		for _, l := range lines {
			if line := l.(map[string]any); strings.Contains(line["value"].(string), "Access denied for user 'app_user'") {
				found = line
			}
		}
		if found == nil && time.Now().After(deadline) {
			t.Fatalf("the refused login is not in the logs: %d %s", r.Status, r.Body)
		}
	}
	labels := found["labels"].(map[string]any)
	if labels["user"] != "app_user" || labels["level"] != "warning" || labels["job"] != "mysql-error" || labels["instance"] != addr {
		t.Errorf("log line %v", found)
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds+"/logs?job=mysql-slow", nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "Access denied") {
		t.Errorf("the slow log has the refused login: %d %s", r.Status, r.Body)
	}
}

// deleteAndCheck deletes a datastore through the API and checks that
// nothing of it is left in the cluster: its namespace, and with it every
// claim, is gone, and every volume it held is released. (On the bed a
// released volume is scrubbed before it is offered to a claim again:
// scripts/k8s/scrub-volumes.sh clears its claim only then.)
func deleteAndCheck(t *testing.T, e *at.Env, k kubernetes.Interface, ds string) {
	t.Helper()
	ctx := context.Background()
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+ds, nil); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+ds, wait)
	if _, err := k.CoreV1().Namespaces().Get(ctx, kube.Namespace(ds), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s still there after the delete (%v)", kube.Namespace(ds), err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(2 * time.Second) {
		pvs, err := k.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var held []string
		for _, pv := range pvs.Items {
			if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace == kube.Namespace(ds) {
				held = append(held, pv.Name+" ("+string(pv.Status.Phase)+")")
			}
		}
		if len(held) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("volumes still held for the deleted datastore: %v", held)
			return
		}
	}
}
