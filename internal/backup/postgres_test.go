package backup_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/model"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// pgConn connects to a datastore's master with what the API returned.
func pgConn(t testing.TB, r *at.Response, user, password, db string) *pgx.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(r.Str("datastore.connection.master"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable", host, port, user, password, db))
	if err != nil {
		t.Fatalf("connect to %s: %v", r.Str("datastore.id"), err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func pgExec(t testing.TB, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func pgInts(t testing.TB, c *pgx.Conn, sql string) []int {
	t.Helper()
	rows, err := c.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// pgFixture is a PostgreSQL datastore with a user and a database.
func pgFixture(t testing.TB, e *at.Env, name string) (string, *at.Response) {
	t.Helper()
	id := e.CreateDatastore(at.TokenA, "postgresql", name, 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", model.StatusActive, wait)
	u := e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": id, "name": "app", "password": "Secret-pass-1"}})
	e.WaitStatus(at.TokenA, "/v1/users/"+u.Str("user.id"), "user", model.StatusActive, wait)
	d := e.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": id, "name": "appdb", "owner_id": u.Str("user.id")}})
	e.WaitStatus(at.TokenA, "/v1/databases/"+d.Str("database.id"), "database", model.StatusActive, wait)
	return id, r
}

// TestPostgreSQLPointInTimeRestore: rows written at t1, a target t2, more
// rows and a dropped table at t3: the restore to t2 has exactly the t1 rows
// and the table. A target outside the window is refused naming it. Then
// the source is deleted and restored from: the new datastore has every row
// the deleted one committed, up to its last moment (archived on shutdown).
func TestPostgreSQLPointInTimeRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	src, r := pgFixture(t, e, "pg-src")
	waitAllowRestore(t, e, src) // the first backup follows the creation

	c := pgConn(t, r, "app", "Secret-pass-1", "appdb")
	pgExec(t, c, "CREATE TABLE t (x int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
	pgExec(t, c, "CREATE TABLE dropped (y text); INSERT INTO dropped VALUES ('kept')")
	t2 := nextSecond()
	pgExec(t, c, "INSERT INTO t VALUES (4), (5)")
	pgExec(t, c, "DROP TABLE dropped")

	// Outside the window: before the first backup, and in the future.
	for _, bad := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Hour)} {
		resp := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", restoreBody(e, "postgresql", "pg-bad", 1, src, &bad))
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("target %s: %d %s", apiTime(bad), resp.Status, resp.Body)
		}
		mustContain(t, "out-of-window error", resp.Str("error.message"), "restore.target_time: must be between ", " and ")
	}

	restored := restore(t, e, "postgresql", "pg-at-t2", 1, src, &t2)
	rc := pgConn(t, restored, "app", "Secret-pass-1", "appdb")
	// The restored datastore's users and databases are in the API too.
	newID := restored.Str("datastore.id")
	for _, kind := range []string{"users", "databases"} {
		deadline := time.Now().Add(wait)
		for {
			r := e.Do(at.TokenA, http.MethodGet, "/v1/"+kind+"?datastore_id="+newID+"&status=ACTIVE", nil)
			if len(r.Get(kind).([]any)) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the restored datastore's %s are not in the API: %s", kind, r.Body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if got := pgInts(t, rc, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("rows restored to t2 = %v, want [1 2 3]", got)
	}
	var kept string
	if err := rc.QueryRow(context.Background(), "SELECT y FROM dropped").Scan(&kept); err != nil || kept != "kept" {
		t.Errorf("the table dropped after t2: %q %v", kept, err)
	}
	// The restored datastore takes writes, and its create action shows the
	// restore's progress through to the end.
	pgExec(t, rc, "INSERT INTO t VALUES (10)")
	a := createAction(t, e, restored.Str("datastore.id"))
	if a.Str("action.status") != model.ActionSuccess || a.Get("action.progress") != float64(100) {
		t.Errorf("create action of the restore: %s", a.Body)
	}

	// A deleted datastore can be restored from, up to its last commit.
	pgExec(t, c, "INSERT INTO t VALUES (6)")
	if d := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+src, nil); d.Status >= 300 {
		t.Fatalf("delete: %d %s", d.Status, d.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+src, wait)
	list := e.Do(at.TokenA, http.MethodGet, "/v1/datastores?deleted=true", nil)
	if !containsDeleted(list, src) {
		t.Fatalf("the deleted datastore is not listed as deleted with allow_restore: %s", list.Body)
	}
	again := restore(t, e, "postgresql", "pg-from-deleted", 2, src, nil) // its replica is built from the restored primary
	ac := pgConn(t, again, "app", "Secret-pass-1", "appdb")
	if got := pgInts(t, ac, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Errorf("rows restored from the deleted datastore = %v, want [1 2 3 4 5 6]", got)
	}
	if n := pgInts(t, ac, "SELECT count(*)::int FROM pg_tables WHERE tablename = 'dropped'"); n[0] != 0 {
		t.Errorf("the dropped table came back")
	}
	for _, in := range again.Get("datastore.instances").([]any) {
		if st := in.(map[string]any)["status"]; st != model.StatusActive {
			t.Errorf("instance of the restored datastore: %v", in)
		}
	}
	if n := pgInts(t, ac, "SELECT count(*)::int FROM pg_stat_replication WHERE application_name LIKE 'dbaasd_node_%'"); n[0] != 1 {
		t.Errorf("the restored primary has %d replicas, want 1", n[0])
	}
}

// containsDeleted reports whether a list holds id as deleted and restorable.
func containsDeleted(r *at.Response, id string) bool {
	for _, d := range r.Get("datastores").([]any) {
		m := d.(map[string]any)
		if m["id"] == id {
			return m["status"] == model.StatusDeleted && m["allow_restore"] == true
		}
	}
	return false
}
