package apitest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// TypeID returns the ID of the datastore type of an engine.
func (e *Env) TypeID(engine string) string {
	e.T.Helper()
	r := e.Do(TokenA, http.MethodGet, "/v1/datastore-types?engine="+engine, nil)
	id := r.Str("datastore-types.0.id")
	if id == "" {
		e.T.Fatalf("no datastore type for %s: %s", engine, r.Body)
	}
	return id
}

// DatastoreBody returns a create request for a small datastore.
func (e *Env) DatastoreBody(engine, name string, nodes int) map[string]any {
	ds := map[string]any{
		"name": name, "type_id": e.TypeID(engine), "subnet_id": uuid.NewString(), "node_count": nodes,
		"flavor": map[string]any{"vcpus": 1, "ram": 1024, "disk": 5},
	}
	if engine == "redis" {
		ds["redis_password"] = "Redis-Secret-1"
	}
	return map[string]any{"datastore": ds}
}

// CreateDatastore creates a datastore and returns its ID.
func (e *Env) CreateDatastore(token, engine, name string, nodes int) string {
	e.T.Helper()
	r := e.Do(token, http.MethodPost, "/v1/datastores", e.DatastoreBody(engine, name, nodes))
	if r.Status != http.StatusCreated {
		e.T.Fatalf("create %s datastore: %d %s", engine, r.Status, r.Body)
	}
	return r.Str("datastore.id")
}

// MarkActive records a datastore (and its pending objects) as ACTIVE in
// the store, as the reconciler would after converging. It serves tests of
// the API surface that run without engines.
func (e *Env) MarkActive(dsID string) {
	e.T.Helper()
	ctx := context.Background()
	err := e.D.Store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().Get(ctx, dsID)
		if err != nil {
			return err
		}
		insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: dsID})
		if err != nil {
			return err
		}
		for i := range insts {
			in := &insts[i]
			port, err := tx.AllocatePort(ctx, "127.0.0.1", 40000, 49999, dsID, in.ID, nil)
			if err != nil {
				return err
			}
			in.Host, in.Port, in.Status, in.Hostname = "127.0.0.1", port, model.StatusActive, fmt.Sprintf("node-%d", in.Index)
			if err := tx.Instances().Update(ctx, in); err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		ds.Status, ds.CreationFinishedAt = model.StatusActive, &now
		return tx.Datastores().Update(ctx, ds)
	})
	if err != nil {
		e.T.Fatalf("mark %s active: %v", dsID, err)
	}
}

// WaitStatus polls a resource until its status is want (or fails).
func (e *Env) WaitStatus(token, path, key, want string, timeout time.Duration) *Response {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	var last *Response
	for time.Now().Before(deadline) {
		last = e.Do(token, http.MethodGet, path, nil)
		got := last.Str(key + ".status")
		if got == want {
			return last
		}
		if got == model.StatusError && want != model.StatusError {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	actions := e.Do(token, http.MethodGet, "/v1/actions", nil)
	e.T.Fatalf("%s never became %s: last %s\nactions: %s", path, want, last.Body, actions.Body)
	return nil
}

// WaitCount polls a list until its key holds n elements.
func (e *Env) WaitCount(token, path, key string, n int, timeout time.Duration) *Response {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	var last *Response
	for time.Now().Before(deadline) {
		last = e.Do(token, http.MethodGet, path, nil)
		if list, ok := last.Get(key).([]any); ok && len(list) == n {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.T.Fatalf("%s never listed %d %s: last %s", path, n, key, last.Body)
	return nil
}

// WaitGone polls a resource until it answers 404.
func (e *Env) WaitGone(token, path string, timeout time.Duration) {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r := e.Do(token, http.MethodGet, path, nil)
		if r.Status == http.StatusNotFound {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	actions := e.Do(token, http.MethodGet, "/v1/actions", nil)
	e.T.Fatalf("%s still exists\nactions: %s", path, actions.Body)
}

// MustPost sends POST path with body as project A's token and fails t
// unless dbaasd answers 201.
func MustPost(t testing.TB, e *Env, path string, body any) *Response {
	t.Helper()
	return must(t, e, http.MethodPost, path, body, http.StatusCreated)
}

// MustPut sends PUT path with body as project A's token and fails t
// unless dbaasd answers 200.
func MustPut(t testing.TB, e *Env, path string, body any) *Response {
	t.Helper()
	return must(t, e, http.MethodPut, path, body, http.StatusOK)
}

func must(t testing.TB, e *Env, method, path string, body any, want int) *Response {
	t.Helper()
	r := e.Do(TokenA, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}
