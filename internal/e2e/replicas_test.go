package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/reconcile"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// openStore opens the store two dbaasd processes share, to look at leases.
func openStore(t *testing.T, url, dataDir string) store.Store {
	t.Helper()
	key, err := secret.LoadOrCreateKey(dataDir + "/secret.key")
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox(key)
	s, err := store.Open(context.Background(), url, dataDir, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestTwoReplicasOneStore runs two dbaasd processes on one PostgreSQL
// store: both serve the API; an action is worked on by exactly one of
// them; when that one is killed mid-action, its lease expires and the
// other finishes the work.
func TestTwoReplicasOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	url := pgtest.URL(t)
	dir := at.NewDataDir(t, url)
	args := []string{"--action-lease", "2s", "--probe-interval", "300ms"}
	a := at.StartProc(t, dir, url, append(args, "--replica-id", "replica-a")...)
	b := at.StartProc(t, dir, url, append(args, "--replica-id", "replica-b")...)
	ea, eb := a.Env(), b.Env()
	s := openStore(t, url, dir)

	// Both serve the same state.
	ds := ea.CreateDatastore(at.TokenA, "postgresql", "shared", 3)
	if r := eb.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil); r.Status != http.StatusOK {
		t.Fatalf("replica b does not see a's datastore: %d", r.Status)
	}
	// Find who claimed the create and kill it mid-action.
	var owner string
	deadline := time.Now().Add(30 * time.Second)
	for owner == "" && time.Now().Before(deadline) {
		acts, err := s.Actions().List(context.Background(), store.Filter{DatastoreID: ds})
		if err != nil {
			t.Fatal(err)
		}
		for _, act := range acts {
			if act.Name == "datastore.create" && act.Status == model.ActionInProgress {
				owner = act.LeaseOwner
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if owner == "" {
		t.Fatal("nobody claimed the create action")
	}
	survivor := eb
	if owner == "replica-a" {
		a.Kill()
	} else {
		b.Kill()
		survivor = ea
	}
	r := survivor.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 3*wait)
	if len(r.Get("datastore.instances").([]any)) != 3 {
		t.Fatalf("instances: %s", r.Body)
	}
	// The datastore can be ACTIVE before the survivor's attempt ends: the
	// killed replica may have brought the cluster up just before it died,
	// and the survivor then goes through the create again.
	var acts []model.Action
	var err error
	for deadline := time.Now().Add(3 * wait); ; time.Sleep(100 * time.Millisecond) {
		acts, err = s.Actions().List(context.Background(), store.Filter{DatastoreID: ds, Name: "datastore.create"})
		if err != nil || len(acts) != 1 {
			t.Fatalf("create actions: %v %v", acts, err)
		}
		if st := acts[0].Status; st == model.ActionSuccess || st == model.ActionError || time.Now().After(deadline) {
			break
		}
	}
	if acts[0].Status != model.ActionSuccess || acts[0].Attempts < 2 {
		t.Errorf("the create was not finished by the other replica: %+v", acts[0])
	}
	// The cluster really runs: three postmasters, one per instance.
	if pids := postmasterPIDs(t, dir, ds); len(pids) != 3 {
		t.Errorf("%d postmasters run, want 3", len(pids))
	}
	// Probing is not duplicated: one replica holds the probe lease.
	if ok, _ := s.AcquireLease(context.Background(), reconcile.ProbeLease, "intruder", time.Now(), time.Now().Add(time.Second)); ok {
		t.Error("no replica holds the probe lease")
	}
}
