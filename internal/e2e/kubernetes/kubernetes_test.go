// Package kubernetes_test runs dbaasd's Kubernetes runtime end to end
// against a real cluster with the CloudNativePG operator: the single-node
// test bed of scripts/k8s (up.sh), or any cluster described by an env file
// of the same form (see README, "Running the Kubernetes tests on your own
// cluster").
package kubernetes_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

// wait bounds each step: the operator rolls pods one at a time.
const wait = 10 * time.Minute

// start runs a dbaasd on the Kubernetes runtime of the test bed.
func start(t *testing.T, b at.Bed) *at.Env {
	t.Helper()
	return at.Start(t, b.Options(t))
}

// bedClient is a client of the test bed, to look at what dbaasd made.
func bedClient(t *testing.T, b at.Bed) kubernetes.Interface {
	t.Helper()
	cfg, err := kube.RESTConfig(b.AdminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func connect(addr, user, password, db string) (*pgx.Conn, error) {
	return connectTLS(addr, user, password, db, nil)
}

// connectTLS connects over TLS with tc, without it when tc is nil.
func connectTLS(addr, user, password, db string, tc *tls.Config) (*pgx.Conn, error) {
	host, port, _ := net.SplitHostPort(addr)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s sslmode=disable connect_timeout=5", host, port))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password, cfg.Database, cfg.TLSConfig = user, password, db, tc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

func mustConnect(t *testing.T, addr, user, password, db string) *pgx.Conn {
	t.Helper()
	var c *pgx.Conn
	var err error
	// A Service's rules reach kube-proxy a moment after the API answers.
	for range 20 {
		if c, err = connect(addr, user, password, db); err == nil {
			t.Cleanup(func() { _ = c.Close(context.Background()) })
			return c
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("connect to %s as %s/%s: %v", addr, user, db, err)
	return nil
}

func exec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Label selectors of the servers' pods and of the primary's, by operator.
const (
	cnpgInstances  = "cnpg.io/podRole=instance"
	cnpgPrimary    = "cnpg.io/instanceRole=primary"
	mariadbServers = "app.kubernetes.io/instance=mariadb"
	mariadbPrimary = "k8s.mariadb.com/role=primary"
)

// readyPods counts the datastore's server pods (selector) that are Ready.
func readyPods(t *testing.T, k kubernetes.Interface, ds, selector string) (ready int, names []string) {
	t.Helper()
	pods, err := k.CoreV1().Pods(kube.Namespace(ds)).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		names = append(names, p.Name)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				ready++
			}
		}
	}
	return ready, names
}

// master returns the instance the API reports as MASTER.
func master(r *at.Response) (id string) {
	for i := range r.Get("datastore.instances").([]any) {
		if r.Str(fmt.Sprintf("datastore.instances.%d.role", i)) == "MASTER" {
			return r.Str(fmt.Sprintf("datastore.instances.%d.id", i))
		}
	}
	return ""
}

// TestPostgreSQLOnKubernetes creates a three-instance PostgreSQL datastore
// through the API and checks, through the addresses the API gives, that
// every object and setting really is in the servers; then kills the
// primary's pod, resizes and deletes.
func TestPostgreSQLOnKubernetes(t *testing.T) {
	b := at.KubernetesBed(t)
	e := start(t, b)
	k := bedClient(t, b)
	ctx := context.Background()

	checkCapacityLimits(t, e, k)
	t0 := time.Now()
	ds := e.CreateDatastore(at.TokenA, "postgresql", "pg-k8s", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	t.Logf("create → ACTIVE with 3 instances: %s", time.Since(t0).Round(time.Second))
	if n, names := readyPods(t, k, ds, cnpgInstances); n != 3 {
		t.Fatalf("%d of 3 instance pods ready (%v)", n, names)
	}
	addr := r.Str("datastore.connection.master")
	if addr == "" || r.Str("datastore.connection.pooler") == "" || r.Str("datastore.connection.replica-2") == "" || master(r) == "" {
		t.Fatalf("an ACTIVE datastore lacks addresses or roles: %s", r.Body)
	}
	for i := range 3 {
		if s := r.Str(fmt.Sprintf("datastore.instances.%d.status", i)); s != "ACTIVE" {
			t.Errorf("instance %d is %s", i, s)
		}
	}

	// Users, a database, a grant, an extension and a slot.
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "app_user", "password": "Secret-pass-1"}}).Str("user.id")
	other := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "other_user", "password": "Secret-pass-2"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/users/"+other, "user", "ACTIVE", wait)
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "appdb", "owner_id": user}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	app := mustConnect(t, addr, "app_user", "Secret-pass-1", "appdb")
	if owner := pgtest.QueryOne[string](t, app, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'"); owner != "app_user" {
		t.Errorf("appdb is owned by %s", owner)
	}
	exec(t, app, "CREATE TABLE t (id int PRIMARY KEY, v text)")
	exec(t, app, "INSERT INTO t SELECT g, 'row' FROM generate_series(1, 100) g")
	if _, err := connect(addr, "other_user", "Secret-pass-2", "appdb"); err == nil {
		t.Error("other_user connects to appdb before any grant")
	}
	grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": other}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
	if n := pgtest.QueryOne[int](t, mustConnect(t, addr, "other_user", "Secret-pass-2", "appdb"), "SELECT count(*) FROM t"); n != 100 {
		t.Errorf("other_user reads %d rows", n)
	}
	createExtension(t, e, ds, db, "pg_trgm")
	if v := pgtest.QueryOne[float64](t, app, "SELECT similarity('kubernetes', 'kubernates')"); v <= 0 {
		t.Errorf("pg_trgm similarity = %v", v)
	}

	// Configuration: a value reaches every server; a parameter the operator
	// manages is refused.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"work_mem": 8192}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if v := pgtest.QueryOne[string](t, mustConnect(t, addr, "app_user", "Secret-pass-1", "appdb"), "SHOW work_mem"); v != "8MB" {
		t.Errorf("work_mem = %s after PUT config", v)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"archive_command": "/bin/true"}}); r.Status != http.StatusBadRequest {
		t.Errorf("setting a parameter CloudNativePG manages: %d %s", r.Status, r.Body)
	}
	// A value within the catalog's range that the server refuses with the
	// others (max_connections not above superuser_reserved_connections) is
	// refused before it is accepted, in the server's words, instead of a
	// rollout that never ends; nothing changes.
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"work_mem": 8192, "max_connections": 2}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "config.max_connections") || !strings.Contains(string(r.Body), "superuser_reserved_connections") {
		t.Errorf("max_connections the server refuses: %d %s", r.Status, r.Body)
	}
	if st := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.status"); st != "ACTIVE" {
		t.Errorf("after a refused configuration the datastore is %s", st)
	}

	// The pooler serves the database.
	pooler := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.pooler")
	if n := pgtest.QueryOne[int](t, mustConnect(t, pooler, "app_user", "Secret-pass-1", "appdb"), "SELECT count(*) FROM t"); n != 100 {
		t.Errorf("through the pooler: %d rows", n)
	}
	checkPoolerLookup(t, k, ds, addr, app)
	checkMetrics(t, e, ds, "appdb", 1<<20)
	checkLogs(t, e, ds, addr)
	// The operator's own role names are refused before they are accepted.
	for _, name := range []string{"streaming_replica", "cnpg_pooler_pgbouncer"} {
		r := e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": name, "password": "Secret-pass-9"}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("a user named %s: %d %s", name, r.Status, r.Body)
		}
	}

	// Firewall: an address outside it is refused (this host, as the
	// servers see it), at the servers and at the pooler; dbaasd still
	// manages users.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"192.0.2.10"}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if c, err := connect(addr, "app_user", "Secret-pass-1", "appdb"); err == nil {
		_ = c.Close(ctx)
		t.Error("a connection from outside the firewall was accepted by the server")
	}
	if c, err := connect(pooler, "app_user", "Secret-pass-1", "appdb"); err == nil {
		_ = c.Close(ctx)
		t.Error("a connection from outside the firewall was accepted by the pooler")
	}
	if host := b.ClientCIDR(); host != "" {
		checkPodNetworkNeedsCertificate(t, e, k, ds, db, strings.Split(host, "/")[0], pooler, app)
	}
	third := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "third_user", "password": "Secret-pass-3"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+third, "user", "ACTIVE", wait)
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	mustConnect(t, addr, "third_user", "Secret-pass-3", "postgres")

	// Backups: dbaasd's scheduler takes the first one (barman-cloud into
	// the S3-compatible server); a point-in-time restore into a new
	// datastore has what was committed before the target and nothing after.
	if b["DBAAS_K8S_S3_ENDPOINT"] != "" {
		for deadline := time.Now().Add(wait); ; time.Sleep(time.Second) {
			r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
			if r.Get("datastore.allow_restore") == true {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no backup after %s: %s\nactions: %s", wait, r.Body, e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Body)
			}
		}
		checkRetention(t, e, k, ds)
		exec(t, app, "INSERT INTO t SELECT g, 'second' FROM generate_series(101, 200) g")
		time.Sleep(1100 * time.Millisecond)
		target := time.Now().UTC().Truncate(time.Second)
		time.Sleep(1100 * time.Millisecond)
		exec(t, app, "INSERT INTO t SELECT g, 'third' FROM generate_series(201, 300) g")
		body := e.DatastoreBody("postgresql", "pg-k8s-restored", 1)
		body["datastore"].(map[string]any)["restore"] = map[string]any{"datastore_id": ds, "target_time": target.Format("2006-01-02T15:04:05")}
		t2 := time.Now()
		restored := at.MustPost(t, e, "/v1/datastores", body).Str("datastore.id")
		rr := e.WaitStatus(at.TokenA, "/v1/datastores/"+restored, "datastore", "ACTIVE", wait)
		t.Logf("point-in-time restore → ACTIVE: %s", time.Since(t2).Round(time.Second))
		rc := mustConnect(t, rr.Str("datastore.connection.master"), "app_user", "Secret-pass-1", "appdb")
		if n := pgtest.QueryOne[int](t, rc, "SELECT count(*) FROM t"); n != 200 {
			t.Errorf("restored to %s: %d rows, want the 200 committed before it", target.Format(time.RFC3339), n)
		}
		_ = rc.Close(ctx)
		if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+restored, nil); r.Status >= 300 {
			t.Fatalf("delete the restored datastore: %d %s", r.Status, r.Body)
		}
		e.WaitGone(at.TokenA, "/v1/datastores/"+restored, wait)
	} else {
		exec(t, app, "INSERT INTO t SELECT g, 'more' FROM generate_series(101, 300) g")
	}
	// With a datastore's volumes, Secrets and backups on the bed, a local
	// user of the machine reads none of them.
	checkBedSecrets(t, b)

	// Failover: the primary's pod goes; the operator promotes a replica,
	// the API reports the new roles, and writes go on at the new master
	// address with every acknowledged row.
	before := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
	oldMaster := master(before)
	t1 := time.Now()
	newAddr := failPrimary(t, e, k, ds, cnpgPrimary, oldMaster)
	var conn *pgx.Conn
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		c, err := connect(newAddr, "app_user", "Secret-pass-1", "appdb")
		if err == nil {
			if _, err = c.Exec(ctx, "INSERT INTO t VALUES (1000, 'after failover')"); err == nil {
				conn = c
				break
			}
			_ = c.Close(ctx)
		}
	}
	if conn == nil {
		t.Fatalf("no write accepted at the new master %s", newAddr)
	}
	t.Logf("primary pod deleted → first write on the new primary: %s", time.Since(t1).Round(100*time.Millisecond))
	if n := pgtest.QueryOne[int](t, conn, "SELECT count(*) FROM t"); n != 301 {
		t.Errorf("after failover the table has %d rows, want 301", n)
	}
	_ = conn.Close(ctx)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)

	// A bigger disk is refused before it is accepted: the test bed's
	// storage class does not allow volume expansion, and the operator
	// would wait for claims that never grow.
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+ds+"/resize", map[string]any{"resize": map[string]any{
		"flavor": map[string]any{"vcpus": 1, "ram": 1024, "disk": 10}}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "resize.flavor.disk") || !strings.Contains(string(r.Body), "does not allow volume expansion") {
		t.Errorf("a bigger disk on volumes that cannot grow: %d %s", r.Status, r.Body)
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil); r.Str("datastore.status") != "ACTIVE" || r.Get("datastore.flavor.disk") != float64(5) {
		t.Errorf("after a refused resize: %s", r.Body)
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
	if n, names := readyPods(t, k, ds, cnpgInstances); n != 2 || len(names) != 2 {
		t.Errorf("after resize %d ready of %v", n, names)
	}
	if v := pgtest.QueryOne[string](t, mustConnect(t, r.Str("datastore.connection.master"), "app_user", "Secret-pass-1", "appdb"), "SHOW shared_buffers"); v != "512MB" {
		t.Errorf("shared_buffers = %s after resize to 2048 MB", v)
	}

	// Delete: nothing of the datastore is left in the cluster.
	deleteAndCheck(t, e, k, ds)
}

// createExtension installs extension name in database db through the API
// and waits until it is ACTIVE.
func createExtension(t *testing.T, e *at.Env, ds, db, name string) {
	t.Helper()
	ext := at.MustPost(t, e, "/v1/extensions", map[string]any{"extension": map[string]any{"datastore_id": ds, "database_id": db,
		"available_extension_id": extensionID(t, e, name)}}).Str("extension.id")
	e.WaitStatus(at.TokenA, "/v1/extensions/"+ext, "extension", "ACTIVE", wait)
}

func extensionID(t *testing.T, e *at.Env, name string) string {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodGet, "/v1/available-extensions?name="+name, nil)
	id := r.Str("available-extensions.0.id")
	if id == "" {
		t.Fatalf("no available extension %s: %s", name, r.Body)
	}
	return id
}

// primaryPod is the pod the operator labels as primary.
func primaryPod(t *testing.T, k kubernetes.Interface, ds, selector string) *corev1.Pod {
	t.Helper()
	pods, err := k.CoreV1().Pods(kube.Namespace(ds)).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods labelled primary", len(pods.Items))
	}
	return &pods.Items[0]
}

// failPrimary deletes the primary's pod (selector) with no grace period,
// waits until the API reports a master other than old, and returns its
// address.
func failPrimary(t *testing.T, e *at.Env, k kubernetes.Interface, ds, selector, old string) string {
	t.Helper()
	primary := primaryPod(t, k, ds, selector)
	now := int64(0)
	if err := k.CoreV1().Pods(primary.Namespace).Delete(context.Background(), primary.Name, metav1.DeleteOptions{GracePeriodSeconds: &now}); err != nil {
		t.Fatalf("delete the primary's pod %s: %v", primary.Name, err)
	}
	var after *at.Response
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		after = e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
		if m := master(after); m != "" && m != old {
			break
		}
	}
	if m := master(after); m == "" || m == old {
		t.Fatalf("no new master after the primary's pod was deleted: %s", after.Body)
	}
	return after.Str("datastore.connection.master")
}

// checkPoolerLookup tries, as the owner of a database (app), to change
// or run the function PgBouncer looks users up with, and checks what the
// lookup gives: the database's users, never the superuser or the
// replication role.
func checkPoolerLookup(t *testing.T, k kubernetes.Interface, ds, addr string, app *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"DROP SCHEMA dbaasd_pooler CASCADE",
		"ALTER SCHEMA dbaasd_pooler RENAME TO mine",
		"DROP FUNCTION dbaasd_pooler.user_search(text)",
		"CREATE OR REPLACE FUNCTION dbaasd_pooler.user_search(uname text) RETURNS TABLE (usename name, passwd text) " +
			"LANGUAGE sql AS $$ SELECT 'postgres'::name, 'x'::text $$",
		"CREATE FUNCTION dbaasd_pooler.more() RETURNS int LANGUAGE sql AS 'SELECT 1'",
		"SELECT * FROM dbaasd_pooler.user_search('app_user')",
		"REVOKE USAGE ON SCHEMA dbaasd_pooler FROM dbaasd_pooler",
	} {
		if _, err := app.Exec(ctx, q); err == nil {
			t.Errorf("the owner of appdb ran %q", q)
		}
	}
	sec, err := k.CoreV1().Secrets(kube.Namespace(ds)).Get(ctx, "pooler-client", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the lookup role's secret: %v", err)
	}
	if c, err := connect(addr, "dbaasd_pooler", "", "appdb"); err == nil {
		_ = c.Close(ctx)
		t.Error("the lookup role logged in without its certificate")
	}
	lookup := connectWithCert(t, addr, "dbaasd_pooler", "appdb", sec.Data["tls.crt"], sec.Data["tls.key"])
	for user, want := range map[string]int{"app_user": 1, "postgres": 0, "streaming_replica": 0, "dbaasd_pooler": 0} {
		if n := pgtest.QueryOne[int](t, lookup, "SELECT count(*) FROM dbaasd_pooler.user_search($1)", user); n != want {
			t.Errorf("the lookup gives %d rows for %s, want %d", n, user, want)
		}
	}
	if n := pgtest.QueryOne[int](t, lookup, "SELECT count(*) FROM pg_catalog.pg_proc WHERE proname = 'user_search' AND pronamespace = 'public'::regnamespace"); n != 0 {
		t.Errorf("%d functions public.user_search: the operator's lookup is in use", n)
	}
}

// checkPodNetworkNeedsCertificate puts a firewall that admits host only
// and checks that the pod network is admitted only with the cluster's
// client certificate: the pooler, which presents it, still serves host,
// while a server of the cluster's own pods connecting to another (as
// another datastore's server would, with dblink) is refused, with the
// right password. app is a session on the primary in database db,
// opened before any firewall.
func checkPodNetworkNeedsCertificate(t *testing.T, e *at.Env, k kubernetes.Interface, ds, db, host, pooler string, app *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{host}}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if n := pgtest.QueryOne[int](t, mustConnect(t, pooler, "app_user", "Secret-pass-1", "appdb"), "SELECT count(*) FROM t"); n != 100 {
		t.Errorf("through the pooler under a firewall: %d rows", n)
	}
	createExtension(t, e, ds, db, "dblink")
	pods, err := k.CoreV1().Pods(kube.Namespace(ds)).List(ctx, metav1.ListOptions{LabelSelector: "cnpg.io/instanceRole=replica"})
	if err != nil || len(pods.Items) == 0 || pods.Items[0].Status.PodIP == "" {
		t.Fatalf("a replica's pod: %v (%d pods)", err, len(pods.Items))
	}
	conninfo := fmt.Sprintf("host=%s port=5432 dbname=appdb user=app_user password=Secret-pass-1 connect_timeout=5", pods.Items[0].Status.PodIP)
	_, err = app.Exec(ctx, "SELECT dblink_connect('probe', $1)", conninfo)
	why := ""
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) {
		why = pgErr.Detail // dblink's reason: the server's answer
	}
	switch {
	case err == nil:
		t.Error("a pod without the cluster's client certificate connected to a server past its firewall")
	case !strings.Contains(why, "certificate") && !strings.Contains(why, "pg_hba.conf"):
		t.Errorf("refused, but not by the firewall's rules: %v (%s)", err, why)
	default:
		t.Logf("a pod without the certificate is refused: %s", why)
	}
}

// connectWithCert logs in as user with a client certificate (PEM), over
// TLS without checking the server's certificate.
func connectWithCert(t *testing.T, addr, user, db string, crt, key []byte) *pgx.Conn {
	t.Helper()
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true} //nolint:gosec // the test checks the client's certificate, not the server's
	c, err := connectTLS(addr, user, "", db, tc)
	if err != nil {
		t.Fatalf("connect to %s as %s with its certificate: %v", addr, user, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
