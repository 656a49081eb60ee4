package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// TestUserCreatedWhileDownHeals: a user accepted while the datastore's
// server was down (before the prober noticed) fails and ends in ERROR;
// once a repair brings the datastore back, the user is created after all
// and becomes ACTIVE instead of staying in ERROR for good.
func TestUserCreatedWhileDownHeals(t *testing.T) {
	t.Parallel()
	// The prober is slow here, so the API still takes the datastore for
	// ACTIVE while its server is dead; the test probes by hand.
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: time.Hour})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "heal-user", 1)
	path := "/v1/datastores/" + ds
	e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)

	killPidFiles(t, e.DataDir, ds, "data/postmaster.pid")
	uid := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "latecomer", "password": "Secret-pass-1"}}).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+uid, "user", model.StatusError, 3*wait)

	// Probe rounds, as the prober runs them: one sees the server down and
	// asks for a repair, which brings it back.
	for deadline := time.Now().Add(3 * wait); ; {
		e.D.Reconciler.ProbeAll(context.Background())
		if e.Do(at.TokenA, http.MethodGet, path, nil).Str("datastore.status") == model.StatusActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the datastore never came back")
		}
		time.Sleep(time.Second)
	}
	e.WaitStatus(at.TokenA, "/v1/users/"+uid, "user", model.StatusActive, 3*wait)

	// The user exists in the engine: it logs in.
	dbID := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "late", "owner_id": uid}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+dbID, "database", model.StatusActive, wait)
	master := e.Do(at.TokenA, http.MethodGet, path, nil).Str("datastore.connection.master")
	c := mustConnect(t, master, "latecomer", "Secret-pass-1", "late")
	if v := pgtest.QueryOne[string](t, c, "SELECT current_user"); v != "latecomer" {
		t.Errorf("current_user = %s", v)
	}
}
