package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// killAndWatch kills (-9) the process of a pid file and watches the
// datastore: it must leave ACTIVE (to one of notActive) while the process
// is gone, and come back ACTIVE with the process running again (a new
// process), without anyone asking. The probe may notice and the repair
// restart the process between two looks at the datastore (on a loaded
// machine the status can be DEGRADED for less than a look takes): a
// repair recorded after the kill, which the probe records only with a
// status that is not ACTIVE, then shows that it was noticed.
func killAndWatch(t *testing.T, e *at.Env, ds, what, pidFile string, notActive ...string) {
	t.Helper()
	pid := proc.ReadPidFile(pidFile)
	if pid <= 0 || !proc.Alive(pid) {
		t.Fatalf("%s: no running process in %s", what, pidFile)
	}
	killed := time.Now().UTC().Truncate(time.Second)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var seen []string
	deadline := time.Now().Add(wait)
	for {
		r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
		s := r.Str("datastore.status")
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		back := proc.ReadPidFile(pidFile)
		if s == "ACTIVE" && back > 0 && back != pid && proc.Alive(back) && (len(seen) > 1 || repairedSince(t, e, ds, killed)) {
			break
		}
		if s == "ERROR" || time.Now().After(deadline) {
			acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds, nil)
			t.Fatalf("%s killed: statuses %v, process %d (was %d); actions %s", what, seen, back, pid, acts.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok := false
	for _, s := range seen {
		ok = ok || slices.Contains(notActive, s)
	}
	if !ok && len(seen) > 1 {
		t.Errorf("%s killed: statuses %v, want %v in between", what, seen, notActive)
	}
	t.Logf("%s killed: statuses %v", what, seen)
}

// repairedSince tells whether a repair of the datastore was recorded at or
// after a time (the API's times are whole seconds).
func repairedSince(t *testing.T, e *at.Env, ds string, since time.Time) bool {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds, nil)
	acts, _ := r.Get("actions").([]any)
	for _, a := range acts {
		m, _ := a.(map[string]any)
		created, err := time.Parse("2006-01-02T15:04:05", fmt.Sprint(m["created_at"]))
		if err == nil && m["name"] == "datastore.repair" && !created.Before(since) {
			return true
		}
	}
	return false
}

// TestSupportingProcessesAreSupervised kills, one at a time, each
// supporting process of running datastores — PgBouncer, a Redis Sentinel, a
// Redis firewall forwarder, the Kafka broker process — and sees each
// noticed (the datastore DEGRADED; DOWN for the Kafka broker, the process
// that serves every node of its datastore), restarted by a repair, and the
// datastore ACTIVE again.
func TestSupportingProcessesAreSupervised(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond})
	pg := e.CreateDatastore(at.TokenA, "postgresql", "sup-pg", 1)
	rd := e.CreateDatastore(at.TokenA, "redis", "sup-redis", 2)
	kf := e.CreateDatastore(at.TokenA, "kafka", "sup-kafka", 1)
	for _, ds := range []string{pg, rd, kf} {
		e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 2*wait)
	}
	at.MustPut(t, e, "/v1/datastores/"+rd+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"127.0.0.1"}}})
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+rd, "datastore", "ACTIVE", wait)
	redisRun := layout.Layout{RunDir: daemon.DefaultRunDir()}.ClusterRunDir(rd)
	inst := func(i int) string { return r.Str("datastore.instances." + string(rune('0'+i)) + ".id")[:8] }

	killAndWatch(t, e, pg, "pgbouncer", filepath.Join(e.DataDir, "clusters", pg, "pooler", "pgbouncer.pid"), "DEGRADED")
	killAndWatch(t, e, rd, "redis-sentinel", filepath.Join(redisRun, inst(1), "sentinel.pid"), "DEGRADED")
	killAndWatch(t, e, rd, "redis-forwarder", filepath.Join(redisRun, inst(0), "forwarder.pid"), "DEGRADED")
	brokers, _ := filepath.Glob(filepath.Join(e.DataDir, "clusters", kf, "nodes", "*", "broker.pid"))
	if len(brokers) != 1 {
		t.Fatalf("kafka broker pid files: %v", brokers)
	}
	killAndWatch(t, e, kf, "kafka broker", brokers[0], "DOWN", "DEGRADED")
}

// TestInstancesObservedInError: while a datastore is in ERROR (its repair
// failed and the retry is far off), its instances' statuses still follow
// what runs: a node killed then shows DOWN, not the ACTIVE it last had.
func TestInstancesObservedInError(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond, RetryAfter: time.Hour})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "err-pg", 2)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	var primary, replica string
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		if m["role"] == "MASTER" {
			primary = m["id"].(string)
		} else {
			replica = m["id"].(string)
		}
	}
	node := func(id string) string { return filepath.Join(e.DataDir, "clusters", ds, "nodes", id[:8], "data") }
	// The replica dies with a configuration its server refuses: the repair
	// fails and the datastore ends in ERROR.
	conf := filepath.Join(node(replica), "postgresql.auto.conf")
	good, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(append([]byte{}, good...), "this line is no setting\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(proc.ReadPidFile(filepath.Join(node(replica), "postmaster.pid")), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ERROR", 3*wait)
	// In ERROR, the primary dies too: its instance must show it.
	if err := syscall.Kill(proc.ReadPidFile(filepath.Join(node(primary), "postmaster.pid")), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
		statuses := map[string]any{}
		for _, in := range r.Get("datastore.instances").([]any) {
			m := in.(map[string]any)
			statuses[m["id"].(string)] = m["status"]
		}
		if statuses[primary] == "DOWN" && statuses[replica] == "DOWN" && r.Str("datastore.status") == "ERROR" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances in ERROR after the primary died: %v (datastore %s)", statuses, r.Str("datastore.status"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = os.WriteFile(conf, good, 0o600)
}
