package e2e_test

import (
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestPortTakenEndsInErrorAndHeals takes the port of a datastore's server
// while the server is down: the repair fails, the datastore ends in ERROR
// with an action error a person can act on (the engine's own "Address
// already in use"), and once the port is free again a retry brings it back
// to ACTIVE without anyone asking.
func TestPortTakenEndsInErrorAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 200 * time.Millisecond, RetryAfter: 2 * time.Second})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "squatted", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master := r.Str("datastore.connection.master")
	pids := postmasterPIDs(t, e.DataDir, ds)
	if len(pids) != 1 {
		t.Fatalf("postmasters %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var squatter net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for squatter == nil {
		l, err := net.Listen("tcp", master)
		if err == nil {
			squatter = l
		} else if time.Now().After(deadline) {
			t.Fatalf("could not take %s: %v", master, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer func() { _ = squatter.Close() }()

	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ERROR", 3*wait)
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds+"&status=ERROR", nil).Get("actions").([]any)
	if len(acts) == 0 {
		t.Fatalf("no failed action: %s", r.Body)
	}
	msg, _ := acts[len(acts)-1].(map[string]any)["error"].(string)
	if !strings.Contains(msg, "Address already in use") {
		t.Errorf("the action error does not say what is wrong: %q", msg)
	}
	_ = squatter.Close()
	// Nobody asks: the back-off ends and a retry heals it.
	healed := time.Now().Add(3 * wait)
	for {
		s := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.status")
		if s == "ACTIVE" {
			break
		}
		if time.Now().After(healed) {
			t.Fatalf("still %s after the port was freed", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if retries := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds+"&request_id=dbaasd-retry", nil); len(retries.Get("actions").([]any)) == 0 {
		t.Errorf("no retry action recorded: %s", retries.Body)
	}
	if c, err := net.DialTimeout("tcp", master, 2*time.Second); err != nil {
		t.Errorf("the healed server does not accept connections: %v", err)
	} else {
		_ = c.Close()
	}
}
