package httpapi_test

import (
	"net/http"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestCachedAnswersAreNeverStaleAcrossReplicas runs two dbaasd replicas
// on one PostgreSQL store (and one data dir, as replicas share the
// secret key) and reads each answer twice through the second replica, so
// that the second read may come from its cache: a write through the first
// replica — through the API, or straight into the store as the reconciler
// writes — is in the next read through the second; an identity token
// revoked through the first is refused by the second at its next request.
func TestCachedAnswersAreNeverStaleAcrossReplicas(t *testing.T) {
	t.Parallel()
	users := []string{"alice:Alice-pass-1:" + at.ProjectA}
	one := at.Start(t, at.Options{Postgres: true, Users: users})
	two := at.Start(t, at.Options{Postgres: true, DataDir: one.DataDir, StoreURL: one.StoreURL, Users: users})
	ds := one.CreateDatastore(at.TokenA, "postgresql", "first", 1)
	get, list := "/v1/datastores/"+ds, "/v1/datastores"
	readTwice := func(token, path, field, want string) {
		t.Helper()
		for i := 0; i < 2; i++ {
			r := two.Do(token, http.MethodGet, path, nil)
			if r.Status != http.StatusOK || r.Str(field) != want {
				t.Fatalf("read %d of %s through the other replica: %s = %q, want %q (%d %s)", i+1, path, field,
					r.Str(field), want, r.Status, r.Body)
			}
		}
	}
	readTwice(at.TokenA, get, "datastore.name", "first")
	readTwice(at.TokenA, list, "datastores.0.name", "first")

	if r := one.Do(at.TokenA, http.MethodPut, get, map[string]any{"datastore": map[string]any{"name": "second"}}); r.Status != http.StatusOK {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	readTwice(at.TokenA, get, "datastore.name", "second")
	readTwice(at.TokenA, list, "datastores.0.name", "second")

	one.MarkActive(ds) // the reconciler's writes: datastore and instances
	readTwice(at.TokenA, get, "datastore.status", "ACTIVE")
	readTwice(at.TokenA, list, "datastores.0.instances.0.status", "ACTIVE")

	if r := one.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{
		"datastore_id": ds, "name": "appdb"}}); r.Status != http.StatusCreated {
		t.Fatalf("create database: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ {
		if r := two.Do(at.TokenA, http.MethodGet, get, nil); r.Get("datastore.databases_count") != float64(1) {
			t.Fatalf("databases_count through the other replica: %v", r.Get("datastore.databases_count"))
		}
	}

	login := one.Do("", http.MethodPost, "/identity/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": "alice", "domain": map[string]any{"name": "Default"}, "password": "Alice-pass-1"}}},
		"scope": map[string]any{"project": map[string]any{"id": at.ProjectA}}}})
	tok := login.Header.Get("X-Subject-Token")
	if login.Status != http.StatusCreated || tok == "" {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	readTwice(tok, get, "datastore.name", "second")
	revoke := one.DoHeaders(tok, http.MethodDelete, "/identity/v3/auth/tokens", nil, map[string]string{"X-Subject-Token": tok})
	if revoke.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", revoke.Status, revoke.Body)
	}
	for _, path := range []string{get, list} {
		if r := two.Do(tok, http.MethodGet, path, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("revoked token through the other replica, GET %s: %d", path, r.Status)
		}
	}
	readTwice(at.TokenA, get, "datastore.name", "second")
}
