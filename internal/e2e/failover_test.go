package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// writer keeps inserting numbered rows through the master address the API
// currently gives, reconnecting (and re-reading the address) on any error.
// It remembers which inserts were acknowledged.
type writer struct {
	t       *testing.T
	e       *at.Env
	ds      string
	mu      sync.Mutex
	acked   []int
	lastErr time.Time
	firstOK time.Time // first acknowledged write after the kill
	killed  time.Time
	stop    chan struct{}
	done    chan struct{}
}

func (w *writer) run(connect func(addr string) (func(n int) error, func(), error)) {
	defer close(w.done)
	var exec func(int) error
	closeConn := func() {}
	for n := 1; ; n++ {
		select {
		case <-w.stop:
			closeConn()
			return
		default:
		}
		if exec == nil {
			addr := w.e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+w.ds, nil).Str("datastore.connection.master")
			var err error
			if exec, closeConn, err = connect(addr); err != nil {
				exec, closeConn = nil, func() {}
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		if err := exec(n); err != nil {
			closeConn()
			exec = nil
			w.mu.Lock()
			w.lastErr = time.Now()
			w.mu.Unlock()
			continue
		}
		w.mu.Lock()
		w.acked = append(w.acked, n)
		if !w.killed.IsZero() && w.firstOK.IsZero() && time.Now().After(w.lastErr) && !w.lastErr.IsZero() {
			w.firstOK = time.Now()
		}
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// killPrimary lets the writer write for a second, kills the primary's
// server (pid) and waits up to within until a write is acknowledged after
// the kill by a new primary; then it stops the writer.
func (w *writer) killPrimary(pid int, within time.Duration) {
	t := w.t
	t.Helper()
	time.Sleep(time.Second)
	w.mu.Lock()
	w.killed = time.Now()
	w.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A new primary takes writes.
	deadline := time.Now().Add(within)
	for {
		w.mu.Lock()
		ok := !w.firstOK.IsZero()
		w.mu.Unlock()
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(w.stop)
	<-w.done
	if w.firstOK.IsZero() {
		t.Fatal("no write succeeded after the primary was killed")
	}
	t.Logf("failover: primary killed → new primary accepting writes in %v", w.firstOK.Sub(w.killed).Round(time.Millisecond))
}

// TestPostgreSQLFailover kills the primary of a 3-node cluster while a
// client writes: a replica is promoted, the client keeps writing through
// the address the API gives, no acknowledged write is lost, and the old
// primary rejoins as a replica.
func TestPostgreSQLFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond, FailoverAfter: time.Second})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "ha", 3)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "w", "password": "Secret-pass-1"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "d", "owner_id": user}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	oldMaster := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.instances.0.id")
	setup := mustConnect(t, e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.master"), "w", "Secret-pass-1", "d")
	if _, err := setup.Exec(context.Background(), "CREATE TABLE writes (n int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	w := &writer{t: t, e: e, ds: ds, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(func(addr string) (func(int) error, func(), error) {
		c, err := pgConnect(t, addr, "w", "Secret-pass-1", "d", "")
		if err != nil {
			return nil, nil, err
		}
		return func(n int) error {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, err := c.Exec(ctx, "INSERT INTO writes VALUES ($1)", n)
				return err
			}, func() {
				_ = c.Close(context.Background())
			}, nil
	})
	w.killPrimary(primaryPID(t, e.DataDir, ds), wait)

	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	roles := map[string]string{}
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		roles[m["id"].(string)] = m["role"].(string) + "/" + m["status"].(string)
	}
	if roles[oldMaster] != "REPLICA/ACTIVE" {
		t.Errorf("old primary is %q, want an active replica: %v", roles[oldMaster], roles)
	}
	c := mustConnect(t, r.Str("datastore.connection.master"), "w", "Secret-pass-1", "d")
	rows, err := c.Query(context.Background(), "SELECT n FROM writes")
	if err != nil {
		t.Fatal(err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	present := map[int]bool{}
	for _, n := range have {
		present[int(n)] = true
	}
	lost := 0
	for _, n := range w.acked {
		if !present[n] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes were lost", lost, len(w.acked))
	}
	acts := e.Do(at.TokenA, http.MethodGet, fmt.Sprintf("/v1/actions?name=datastore.failover&datastore_id=%s", ds), nil)
	if len(acts.Get("actions").([]any)) != 1 {
		t.Errorf("want one failover action: %s", acts.Body)
	}
}

// primaryPID is the postmaster PID of the node that is not a standby.
func primaryPID(t *testing.T, dataDir, ds string) int {
	t.Helper()
	super := superConn(t, dataDir, ds)
	var pid int
	if err := super.QueryRow(context.Background(), "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for _, p := range postmasterPIDs(t, dataDir, ds) {
		if isParentOf(p, pid) {
			return p
		}
	}
	t.Fatal("primary postmaster not found")
	return 0
}

// TestMySQLSemiSyncFailover kills the primary of a 3-node semi-sync
// cluster while a client writes: the most advanced replica is promoted,
// no acknowledged write is lost, and the old primary rejoins as a replica.
func TestMySQLSemiSyncFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond, FailoverAfter: time.Second})
	ds := e.CreateDatastore(at.TokenA, "mysql_native", "ha-my", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 3*wait)
	oldMaster := r.Str("datastore.instances.0.id")
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "w", "password": "Secret-pass-1"}}).Str("user.id")
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "d"}}).Str("database.id")
	grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": user}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
	setup := mustMy(t, r.Str("datastore.connection.master"), "w", "Secret-pass-1", "d")
	if _, err := setup.Exec("CREATE TABLE writes (n INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	w := &writer{t: t, e: e, ds: ds, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(func(addr string) (func(int) error, func(), error) {
		c, err := myOpen(t, addr, "w", "Secret-pass-1", "d", "")
		if err != nil {
			return nil, nil, err
		}
		c.SetMaxOpenConns(1)
		return func(n int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := c.ExecContext(ctx, "INSERT INTO writes VALUES (?)", n)
			return err
		}, func() { _ = c.Close() }, nil
	})
	w.killPrimary(mysqlPID(t, e.DataDir, ds, oldMaster), 2*wait)
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 3*wait)
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		if m["id"] == oldMaster && (m["role"] != "REPLICA" || m["status"] != "ACTIVE") {
			t.Errorf("old primary is %v/%v, want an active replica", m["role"], m["status"])
		}
	}
	c := mustMy(t, r.Str("datastore.connection.master"), "w", "Secret-pass-1", "d")
	present := map[int]bool{}
	rows, err := c.Query("SELECT n FROM writes")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		_ = rows.Scan(&n)
		present[n] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, n := range w.acked {
		if !present[n] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes were lost", lost, len(w.acked))
	}
}

// mysqlPID is the mariadbd PID of one node of a datastore.
func mysqlPID(t *testing.T, dataDir, ds, instance string) int {
	t.Helper()
	for _, f := range mustGlob(t, filepath.Join(dataDir, "clusters", ds, "nodes", instance[:8], "*.pid")) {
		if pid := proc.ReadPidFile(f); pid > 0 && proc.Alive(pid) {
			return pid
		}
	}
	for _, f := range mustGlob(t, filepath.Join(dataDir, "clusters", ds, "nodes", instance[:8], "*", "*.pid")) {
		if pid := proc.ReadPidFile(f); pid > 0 && proc.Alive(pid) {
			return pid
		}
	}
	t.Fatalf("no mariadbd pid file for node %s", instance)
	return 0
}

// TestRedisSentinelFailover kills the primary of a 3-node Redis cluster
// while a client writes with WAIT (acknowledged by a replica): Sentinel
// promotes a replica, the API's master address follows it, no
// acknowledged write is lost, and the old primary comes back as a replica.
func TestRedisSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond})
	ds := e.CreateDatastore(at.TokenA, "redis", "ha-redis", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	oldMaster := r.Str("datastore.instances.0.id")
	w := &writer{t: t, e: e, ds: ds, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(redisWAITWriter("Redis-Secret-1"))
	w.killPrimary(redisPID(t, e.DataDir, ds, oldMaster), wait)
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	masters := 0
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		if m["role"] == "MASTER" {
			masters++
		}
		if m["id"] == oldMaster && (m["role"] != "REPLICA" || m["status"] != "ACTIVE") {
			t.Errorf("old primary is %v/%v, want an active replica", m["role"], m["status"])
		}
	}
	if masters != 1 {
		t.Errorf("%d instances are MASTER", masters)
	}
	lost := lostRedisWrites(t, r.Str("datastore.connection.master"), "Redis-Secret-1", w.acked)
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes were lost", lost, len(w.acked))
	}
}

// redisPID is the redis-server PID of one node of a datastore.
func redisPID(t *testing.T, _ string, ds, instance string) int {
	t.Helper()
	return redisProcPID(t, ds, instance, "redis")
}

// redisProcPID is the PID of one of a Redis node's processes: "redis"
// (the server), "sentinel" or "forwarder", from its pid file in the node's
// runtime directory.
func redisProcPID(t *testing.T, ds, instance, which string) int {
	t.Helper()
	l := layout.Layout{RunDir: daemon.DefaultRunDir()}
	f := filepath.Join(l.ClusterRunDir(ds), instance[:8], which+".pid")
	if pid := proc.ReadPidFile(f); pid > 0 && proc.Alive(pid) {
		return pid
	}
	t.Fatalf("no running process for %s", f)
	return 0
}
