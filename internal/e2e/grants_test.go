package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// TestPostgreSQLOwnerChangeKeepsGrants changes a database's owner as a
// Terraform user does (owner_id of selectel_dbaas_postgresql_database_v1
// updated in place) while both users hold a recorded grant: every recorded
// grant keeps working, directly and through the pooler, and a login the
// engine refuses is refused at once through the pooler too.
func TestPostgreSQLOwnerChangeKeepsGrants(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "pg-owner", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master, pooler := r.Str("datastore.connection.master"), r.Str("datastore.connection.pooler")
	if master == "" || pooler == "" {
		t.Fatalf("no master or pooler address: %s", r.Body)
	}
	users := map[string]string{}
	for _, name := range []string{"first_owner", "next_owner", "stranger"} {
		users[name] = at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": name,
			"password": "Owner-pass-1"}}).Str("user.id")
	}
	for _, id := range users {
		e.WaitStatus(at.TokenA, "/v1/users/"+id, "user", "ACTIVE", wait)
	}
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "owned",
		"owner_id": users["first_owner"]}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	for _, name := range []string{"first_owner", "next_owner"} {
		g := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db,
			"user_id": users[name]}}).Str("grant.id")
		e.WaitStatus(at.TokenA, "/v1/grants/"+g, "grant", "ACTIVE", wait)
	}

	at.MustPut(t, e, "/v1/databases/"+db, map[string]any{"database": map[string]any{"owner_id": users["next_owner"]}})
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)

	for _, name := range []string{"first_owner", "next_owner"} {
		for _, addr := range []string{master, pooler} {
			c := mustConnect(t, addr, name, "Owner-pass-1", "owned")
			if _, err := c.Exec(context.Background(), "CREATE TABLE IF NOT EXISTS t_"+name+" (x int)"); err != nil {
				t.Errorf("%s at %s after the owner change: %v", name, addr, err)
			}
		}
	}
	admin := mustConnect(t, master, "next_owner", "Owner-pass-1", "owned")
	if got := pgtest.QueryOne[string](t, admin, "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = 'owned'"); got != "next_owner" {
		t.Errorf("owner = %q, want next_owner", got)
	}

	// A user without a grant is refused, through the pooler as directly,
	// with the engine's reason and without waiting for a time-out.
	for _, addr := range []string{master, pooler} {
		start := time.Now()
		_, err := pgConnect(t, addr, "stranger", "Owner-pass-1", "owned", "")
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("stranger at %s: %v after %v, want permission denied", addr, err, time.Since(start).Round(time.Millisecond))
		}
	}

	// Once granted, the refused user gets in through the pooler at once:
	// PgBouncer does not hold the pool's clients for long after the refusal.
	g := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db,
		"user_id": users["stranger"]}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+g, "grant", "ACTIVE", wait)
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err = queryThrough(t, pooler, "stranger", "owned"); err == nil || time.Now().After(deadline) ||
			!strings.Contains(err.Error(), "server_login_retry") {
			break
		}
		time.Sleep(200 * time.Millisecond) // the pooler said why: its retry after the refusal is due shortly
	}
	if err != nil {
		t.Errorf("stranger through the pooler once granted: %v", err)
	}

	// The grants the API lists are the ones in force.
	list := e.Do(at.TokenA, http.MethodGet, "/v1/grants?database_id="+db, nil)
	if n := len(list.Get("grants").([]any)); n != 3 {
		t.Errorf("grants of the database: %s", list.Body)
	}
}

// queryThrough connects and runs a query (through a pooler in transaction
// mode the server login happens at the first query), within 10 s.
func queryThrough(t *testing.T, addr, user, db string) error {
	t.Helper()
	c, err := pgConnect(t, addr, user, "Owner-pass-1", db, "")
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Exec(ctx, "SELECT 1")
	return err
}
