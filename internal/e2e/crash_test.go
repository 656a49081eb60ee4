package e2e_test

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestCrashHarness kills dbaasd with SIGKILL at random points while it
// works on at least 50 accepted operations of every kind (create, resize,
// config with restarts, users, databases, grants, firewall, delete), then
// restarts it and checks the end state against the API: every action
// finished, every live cluster's servers run with what the API says (ports,
// users, databases), deleted clusters left no process or directory, and no
// orphan process, port or directory exists.
func TestCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	dir := at.NewDataDir(t, "")
	p := at.StartProc(t, dir, "", "--probe-interval", "500ms", "--action-lease", "3s")
	e := p.Env()

	accepted, kills := 0, 0
	var ops []string
	for accepted < 50 {
		name, ok := crashOp(t, e, rng)
		if ok {
			accepted++
			ops = append(ops, name)
		}
		// Let the work start, then crash at a random point of it.
		time.Sleep(time.Duration(rng.Intn(900)) * time.Millisecond)
		if rng.Intn(3) > 0 {
			p.Kill()
			kills++
			p.Start()
		}
	}
	t.Logf("%d operations accepted (%s), %d crashes", accepted, summarize(ops), kills)
	p.Kill()
	p.Start()

	// Everything converges without a person.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if pending := unfinished(e); pending == "" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("not converged after the crashes: %s", pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkEndState(t, e, dir)
}

var statusPending = map[string]bool{"PENDING_CREATE": true, "PENDING_UPDATE": true, "PENDING_DELETE": true, "RESIZING": true}

// unfinished describes what has not converged yet ("" when all did).
func unfinished(e *at.Env) string {
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil)
	for _, a := range acts.Get("actions").([]any) {
		m := a.(map[string]any)
		if s := m["status"].(string); s == "PENDING" || s == "IN_PROGRESS" {
			return "action " + m["name"].(string) + " " + s
		}
	}
	for _, kind := range []string{"datastores", "users", "databases", "grants"} {
		r := e.Do(at.TokenA, http.MethodGet, "/v1/"+kind, nil)
		for _, o := range r.Get(kind).([]any) {
			m := o.(map[string]any)
			if s := m["status"].(string); statusPending[s] || s == "DEGRADED" || s == "DOWN" {
				return fmt.Sprintf("%s %s is %s", kind, m["id"], s)
			}
		}
	}
	return ""
}

func summarize(ops []string) string {
	n := map[string]int{}
	for _, o := range ops {
		n[o]++
	}
	var parts []string
	for k, v := range n {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// crashOp sends one random operation; it reports its name and whether the
// API accepted it (a 4xx, e.g. because a datastore is busy, is fine too).
func crashOp(t *testing.T, e *at.Env, rng *rand.Rand) (string, bool) {
	list := e.Do(at.TokenA, http.MethodGet, "/v1/datastores", nil).Get("datastores").([]any)
	var active []map[string]any
	for _, d := range list {
		m := d.(map[string]any)
		if m["status"] == "ACTIVE" {
			active = append(active, m)
		}
	}
	pick := func() map[string]any { return active[rng.Intn(len(active))] }
	ok := func(r *at.Response) bool { return r.Status < 300 }
	kind := rng.Intn(10)
	if len(active) == 0 || kind == 0 {
		if len(list) >= 4 {
			return "wait", false // enough clusters on 2 cores
		}
		body := e.DatastoreBody("postgresql", fmt.Sprintf("c%d", rng.Intn(1000)), 1)
		return "create", ok(e.Do(at.TokenA, http.MethodPost, "/v1/datastores", body))
	}
	ds := pick()
	id := ds["id"].(string)
	users := e.Do(at.TokenA, http.MethodGet, "/v1/users?datastore_id="+id, nil).Get("users").([]any)
	dbs := e.Do(at.TokenA, http.MethodGet, "/v1/databases?datastore_id="+id, nil).Get("databases").([]any)
	switch kind {
	case 1, 2:
		return "user", ok(e.Do(at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{
			"datastore_id": id, "name": fmt.Sprintf("u%d", rng.Intn(100000)), "password": "Secret-pass-1"}}))
	case 3:
		db := map[string]any{"datastore_id": id, "name": fmt.Sprintf("db%d", rng.Intn(100000))}
		if len(users) > 0 {
			db["owner_id"] = users[rng.Intn(len(users))].(map[string]any)["id"]
		}
		return "database", ok(e.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": db}))
	case 4:
		if len(users) == 0 || len(dbs) == 0 {
			return "grant", false
		}
		return "grant", ok(e.Do(at.TokenA, http.MethodPost, "/v1/grants", map[string]any{"grant": map[string]any{
			"datastore_id": id, "user_id": users[rng.Intn(len(users))].(map[string]any)["id"],
			"database_id": dbs[rng.Intn(len(dbs))].(map[string]any)["id"]}}))
	case 5:
		// max_connections needs a restart of the servers.
		return "config", ok(e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+id+"/config", map[string]any{"config": map[string]any{
			"work_mem": 4096 + rng.Intn(8)*1024, "max_connections": 100 + rng.Intn(5)*10}}))
	case 6:
		n := 1 + rng.Intn(2)
		return "resize", ok(e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+id+"/resize", map[string]any{"resize": map[string]any{"node_count": n}}))
	case 7:
		ips := []string{}
		if rng.Intn(2) == 0 {
			ips = []string{"127.0.0.1", "10.0.0.0/8"}
		}
		return "firewall", ok(e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+id+"/firewall", map[string]any{"firewall": map[string]any{"ips": ips}}))
	case 8:
		for _, u := range users {
			uid := u.(map[string]any)["id"].(string)
			if r := e.Do(at.TokenA, http.MethodDelete, "/v1/users/"+uid, nil); r.Status < 300 {
				return "delete-user", true
			}
		}
		return "delete-user", false
	default:
		if len(list) < 2 {
			return "delete", false
		}
		return "delete", ok(e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+id, nil))
	}
}

// checkEndState compares the machine with what the API reports.
func checkEndState(t *testing.T, e *at.Env, dir string) {
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Get("actions").([]any)
	failed := 0
	for _, a := range acts {
		if m := a.(map[string]any); m["status"] == "ERROR" {
			failed++
			t.Errorf("action %s ended in ERROR: %v", m["name"], m["error"])
		}
	}
	live := map[string]bool{}
	ports := map[string]string{}
	for _, d := range e.Do(at.TokenA, http.MethodGet, "/v1/datastores", nil).Get("datastores").([]any) {
		m := d.(map[string]any)
		id := m["id"].(string)
		live[id] = true
		if m["status"] != "ACTIVE" {
			t.Errorf("datastore %s is %s", id, m["status"])
			continue
		}
		insts := m["instances"].([]any)
		if pids := postmasterPIDs(t, dir, id); len(pids) != len(insts) || len(insts) != int(m["node_count"].(float64)) {
			t.Errorf("datastore %s: %d postmasters, %d instances, node_count %v", id, len(pids), len(insts), m["node_count"])
		}
		for k, addr := range m["connection"].(map[string]any) {
			if other, dup := ports[addr.(string)]; dup {
				t.Errorf("address %s used by %s and %s", addr, other, id)
			}
			ports[addr.(string)] = id + "/" + k
			c, err := net.DialTimeout("tcp", addr.(string), 2*time.Second)
			if err != nil {
				t.Errorf("datastore %s: %s %s does not accept connections: %v", id, k, addr, err)
				continue
			}
			_ = c.Close()
		}
		checkObjects(t, e, dir, id)
	}
	// Deleted datastores left nothing behind; nothing else is on disk.
	for _, d := range e.Do(at.TokenA, http.MethodGet, "/v1/datastores?deleted=true", nil).Get("datastores").([]any) {
		id := d.(map[string]any)["id"].(string)
		if _, err := os.Stat(filepath.Join(dir, "clusters", id)); !os.IsNotExist(err) {
			t.Errorf("deleted datastore %s still has a directory", id)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "clusters"))
	for _, ent := range entries {
		if !live[ent.Name()] {
			t.Errorf("orphan cluster directory %s", ent.Name())
		}
	}
	// No engine process of this data dir belongs to something not live.
	for _, pid := range enginePIDs(dir) {
		cl := strings.Join(proc.Cmdline(pid), " ")
		owned := false
		for id := range live {
			if strings.Contains(cl, id) {
				owned = true
			}
		}
		if !owned {
			t.Errorf("orphan engine process %d: %s", pid, cl)
		}
	}
	t.Logf("end state: %d live datastores, %d actions (%d failed)", len(live), len(acts), failed)
}

// checkObjects compares users and databases in the API and in the server.
func checkObjects(t *testing.T, e *at.Env, dir, ds string) {
	c := superConn(t, dir, ds)
	ctx := context.Background()
	want := map[string]bool{}
	for _, u := range e.Do(at.TokenA, http.MethodGet, "/v1/users?datastore_id="+ds, nil).Get("users").([]any) {
		m := u.(map[string]any)
		if m["status"] != "ACTIVE" {
			t.Errorf("user %s is %s", m["name"], m["status"])
		}
		want["role:"+m["name"].(string)] = true
	}
	for _, d := range e.Do(at.TokenA, http.MethodGet, "/v1/databases?datastore_id="+ds, nil).Get("databases").([]any) {
		m := d.(map[string]any)
		want["db:"+m["name"].(string)] = true
	}
	rows, err := c.Query(ctx, `SELECT 'role:' || rolname FROM pg_roles WHERE rolcanlogin AND rolname NOT IN ('postgres') AND rolname NOT LIKE 'dbaasd%'
		UNION ALL SELECT 'db:' || datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'`)
	if err != nil {
		t.Fatal(err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, h := range have {
		got[h] = true
		if !want[h] {
			t.Errorf("datastore %s: %s exists in the server but not in the API", ds, h)
		}
	}
	for w := range want {
		if !got[w] {
			t.Errorf("datastore %s: %s is in the API but not in the server", ds, w)
		}
	}
}

// enginePIDs lists running postmasters and PgBouncers started for clusters
// under dir.
func enginePIDs(dir string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		var pid int
		if _, err := fmt.Sscanf(ent.Name(), "%d", &pid); err != nil {
			continue
		}
		cl := proc.Cmdline(pid)
		if len(cl) == 0 || !proc.Alive(pid) {
			continue
		}
		joined := strings.Join(cl, " ")
		if strings.Contains(joined, filepath.Join(dir, "clusters")) && (strings.Contains(cl[0], "postgres") || strings.Contains(cl[0], "pgbouncer")) {
			out = append(out, pid)
		}
	}
	return out
}
