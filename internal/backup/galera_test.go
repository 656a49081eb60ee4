package backup_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestGaleraRestore: a synchronous (Galera) datastore restored to a point
// in time into three nodes: the first node gets the data, the others join
// it by state transfer, and every node serves the rows as of the target.
func TestGaleraRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	src := e.CreateDatastore(at.TokenA, "mysql", "galera-src", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+src, "datastore", model.StatusActive, wait)
	u := e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": src, "name": "app", "password": "Secret-pass-1"}})
	e.WaitStatus(at.TokenA, "/v1/users/"+u.Str("user.id"), "user", model.StatusActive, wait)
	d := e.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": src, "name": "appdb"}})
	e.WaitStatus(at.TokenA, "/v1/databases/"+d.Str("database.id"), "database", model.StatusActive, wait)
	g := e.Do(at.TokenA, http.MethodPost, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": src, "database_id": d.Str("database.id"), "user_id": u.Str("user.id")}})
	e.WaitStatus(at.TokenA, "/v1/grants/"+g.Str("grant.id"), "grant", model.StatusActive, wait)
	waitAllowRestore(t, e, src)

	c := myConn(t, r, "app", "Secret-pass-1", "appdb")
	myExec(t, c, "CREATE TABLE t (x INT PRIMARY KEY) ENGINE=InnoDB")
	myExec(t, c, "INSERT INTO t VALUES (1), (2), (3)")
	t2 := nextSecond()
	myExec(t, c, "INSERT INTO t VALUES (4)")

	restored := restore(t, e, "mysql", "galera-at-t2", 3, src, &t2)
	insts, err := e.D.Store.Instances().List(context.Background(), store.Filter{DatastoreID: restored.Str("datastore.id")})
	if err != nil || len(insts) != 3 {
		t.Fatalf("instances: %v %v", insts, err)
	}
	for _, in := range insts {
		node := &at.Response{JSON: map[string]any{"datastore": map[string]any{"id": in.ID,
			"connection": map[string]any{"master": net.JoinHostPort(in.Host, strconv.Itoa(in.Port))}}}}
		if got := myInts(t, myConn(t, node, "app", "Secret-pass-1", "appdb"), "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3]" {
			t.Errorf("node %d: rows = %v, want [1 2 3]", in.Index, got)
		}
	}
}
