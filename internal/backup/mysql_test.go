package backup_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/model"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// myConn connects to a datastore's master with what the API returned.
func myConn(t testing.TB, r *at.Response, user, password, db string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", r.Str("datastore.connection.master"), db
	cfg.MultiStatements = true
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.Ping(); err != nil {
		t.Fatalf("connect to %s: %v", r.Str("datastore.id"), err)
	}
	return conn
}

func myExec(t testing.TB, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func myInts(t testing.TB, db *sql.DB, q string) []int {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// myFixture is a MySQL (mysql_native) datastore with a user granted a
// database.
func myFixture(t testing.TB, e *at.Env, name string) (string, *at.Response) {
	t.Helper()
	id := e.CreateDatastore(at.TokenA, "mysql_native", name, 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", model.StatusActive, wait)
	u := e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": id, "name": "app", "password": "Secret-pass-1"}})
	e.WaitStatus(at.TokenA, "/v1/users/"+u.Str("user.id"), "user", model.StatusActive, wait)
	d := e.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": id, "name": "appdb"}})
	e.WaitStatus(at.TokenA, "/v1/databases/"+d.Str("database.id"), "database", model.StatusActive, wait)
	g := e.Do(at.TokenA, http.MethodPost, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": id, "database_id": d.Str("database.id"), "user_id": u.Str("user.id")}})
	e.WaitStatus(at.TokenA, "/v1/grants/"+g.Str("grant.id"), "grant", model.StatusActive, wait)
	return id, r
}

// TestMySQLPointInTimeRestore: on a semi-synchronous (mysql_native)
// datastore, rows at t1, a target t2, more rows and a dropped table at t3:
// the restore to t2 — the base backup rolled forward through the archived
// binary logs — has exactly the t1 rows and the table, and its replica is
// cloned from the restored primary. Restoring the latest state after the
// source was deleted finds every row.
func TestMySQLPointInTimeRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	src, r := myFixture(t, e, "my-src")
	waitAllowRestore(t, e, src)

	c := myConn(t, r, "app", "Secret-pass-1", "appdb")
	myExec(t, c, "CREATE TABLE t (x INT PRIMARY KEY) ENGINE=InnoDB")
	myExec(t, c, "INSERT INTO t VALUES (1), (2), (3)")
	myExec(t, c, "CREATE TABLE dropped (y VARCHAR(10)) ENGINE=InnoDB")
	myExec(t, c, "INSERT INTO dropped VALUES ('kept')")
	t2 := nextSecond()
	myExec(t, c, "INSERT INTO t VALUES (4), (5)")
	myExec(t, c, "DROP TABLE dropped")

	restored := restore(t, e, "mysql_native", "my-at-t2", 2, src, &t2)
	rc := myConn(t, restored, "app", "Secret-pass-1", "appdb")
	if got := myInts(t, rc, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("rows restored to t2 = %v, want [1 2 3]", got)
	}
	var kept string
	if err := rc.QueryRow("SELECT y FROM dropped").Scan(&kept); err != nil || kept != "kept" {
		t.Errorf("the table dropped after t2: %q %v", kept, err)
	}
	myExec(t, rc, "INSERT INTO t VALUES (10)") // the restored primary takes writes
	for _, in := range restored.Get("datastore.instances").([]any) {
		if st := in.(map[string]any)["status"]; st != model.StatusActive {
			t.Errorf("instance of the restored datastore: %v", in)
		}
	}

	myExec(t, c, "INSERT INTO t VALUES (6)")
	if d := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+src, nil); d.Status >= 300 {
		t.Fatalf("delete: %d %s", d.Status, d.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+src, wait)
	again := restore(t, e, "mysql_native", "my-from-deleted", 1, src, nil)
	ac := myConn(t, again, "app", "Secret-pass-1", "appdb")
	if got := myInts(t, ac, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Errorf("rows restored from the deleted datastore = %v, want [1 2 3 4 5 6]", got)
	}
}
