package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
)

// A data dir of 150 characters: every engine, with 1 node and with 3 where
// it offers them, becomes ACTIVE (Unix sockets live in the short runtime
// directory, not in the data dir), and a restart of dbaasd re-adopts every
// server without restarting any.
func TestLongDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	dir := at.LongDataDir(t, 150)
	if len(dir) != 150 {
		t.Fatalf("data dir %s is %d characters", dir, len(dir))
	}
	e := at.Start(t, at.Options{Reconcile: true, DataDir: dir})
	type want struct {
		engine string
		nodes  int
	}
	wants := []want{
		{"postgresql", 1}, {"postgresql", 3}, {"mysql_native", 1}, {"mysql_native", 3},
		{"mysql", 1}, {"mysql", 3}, {"redis", 1}, {"redis", 3}, {"kafka", 1},
	}
	ids := map[string]want{}
	for _, w := range wants {
		ids[e.CreateDatastore(at.TokenA, w.engine, fmt.Sprintf("long-%s-%d", w.engine, w.nodes), w.nodes)] = w
	}
	pids := map[string][]int{}
	cmds := map[int]string{} // what each process was, for a failure's message
	for id, w := range ids {
		r := e.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", "ACTIVE", 3*wait)
		if got := len(r.Get("datastore.instances").([]any)); got != w.nodes {
			t.Errorf("%s datastore with %d nodes shows %d instances", w.engine, w.nodes, got)
		}
		// Its first backup has run too: tools that action starts are not
		// servers.
		waitNoPendingActions(t, e, id)
		pids[id] = serverPIDs(t, id)
	}
	// A server still runs a second later; a short-lived process (a
	// probe's client, a tool) is gone by then and is not one.
	time.Sleep(time.Second)
	for id := range ids {
		still := serverPIDs(t, id)
		pids[id] = slices.DeleteFunc(pids[id], func(pid int) bool { return !slices.Contains(still, pid) })
		for _, pid := range pids[id] {
			cmds[pid] = strings.Join(proc.Cmdline(pid), " ")
		}
	}

	e.Stop()
	again := at.Start(t, at.Options{Reconcile: true, DataDir: dir})
	for id, w := range ids {
		again.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", "ACTIVE", wait)
		// The repair dbaasd asks for at start has run when its action is done.
		waitNoPendingActions(t, again, id)
		now := serverPIDs(t, id)
		for _, pid := range pids[id] {
			if !slices.Contains(now, pid) {
				t.Errorf("%s datastore with %d nodes: server %d (%s) did not survive the restart of dbaasd (before %v, after %v)", w.engine, w.nodes, pid, cmds[pid], pids[id], now)
			}
		}
	}
	for id := range ids {
		if r := again.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+id, nil); r.Status != http.StatusOK && r.Status != http.StatusNoContent {
			t.Errorf("delete %s: %d %s", id, r.Status, r.Body)
		}
	}
}

// serverPIDs lists the processes of a datastore that may be its servers:
// those of its OS account whose parent is not (servers started as
// daemons, not their sessions' backends or forks), that still run (a
// process that exited has no command line) and are not tools. Without OS
// accounts (not root) it lists nothing and the test checks only the
// statuses.
func serverPIDs(t *testing.T, datastoreID string) []int {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	uid := intruder.Lookup(t, proc.AccountName(datastoreID)).UID
	all := intruder.ProcessesOf(uid)
	var out []int
	for _, pid := range all {
		if !slices.Contains(all, parentPID(pid)) && len(proc.Cmdline(pid)) > 0 && !isTool(pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// isTool reports a short-lived tool dbaasd runs (a backup), not a server.
func isTool(pid int) bool {
	args := proc.Cmdline(pid)
	return len(args) > 0 && strings.Contains(filepath.Base(args[0]), "backup")
}

func parentPID(pid int) int {
	st, _ := proc.ReadStat(pid)
	return st.PPID
}

// waitNoPendingActions waits until no action of the datastore is pending
// or running.
func waitNoPendingActions(t *testing.T, e *at.Env, datastoreID string) {
	t.Helper()
	for _, status := range []string{"PENDING", "RUNNING"} {
		e.WaitCount(at.TokenA, "/v1/actions?datastore_id="+datastoreID+"&status="+status, "actions", 0, wait)
	}
}
