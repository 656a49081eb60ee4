package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// objectEngine is an engine seen through the driver seam that keeps its
// users and databases in memory: enough to follow what the generic object
// path asks of a driver. It has no topics, so topics are unsupported.
type objectEngine struct {
	mu    sync.Mutex
	users map[string]string // name → password
	dbs   map[string]string // name → owner
	calls []string
}

func (e *objectEngine) record(call string) { e.calls = append(e.calls, call) }

func (e *objectEngine) Info(context.Context) (engine.Info, error)       { return engine.Info{}, nil }
func (e *objectEngine) Catalog(context.Context) (engine.Catalog, error) { return engine.Catalog{}, nil }
func (e *objectEngine) Ensure(context.Context, *engine.Cluster) error   { return nil }
func (e *objectEngine) Observe(context.Context, *engine.Cluster) (engine.Observation, error) {
	return engine.Observation{}, nil
}
func (e *objectEngine) Stop(context.Context, *engine.Cluster) error    { return nil }
func (e *objectEngine) Destroy(context.Context, *engine.Cluster) error { return nil }

func (e *objectEngine) EnsureUser(_ context.Context, _ *engine.Cluster, u engine.User) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("ensure user " + u.Name)
	e.users[u.Name] = u.Password
	return nil
}

func (e *objectEngine) DropUser(_ context.Context, _ *engine.Cluster, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("drop user " + name)
	delete(e.users, name)
	return nil
}

func (e *objectEngine) EnsureDatabase(_ context.Context, _ *engine.Cluster, d engine.Database) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("ensure database " + d.Name + " owner " + d.Owner)
	e.dbs[d.Name] = d.Owner
	return nil
}

func (e *objectEngine) DropDatabase(_ context.Context, _ *engine.Cluster, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("drop database " + name)
	delete(e.dbs, name)
	return nil
}

func (e *objectEngine) EnsureGrant(_ context.Context, _ *engine.Cluster, g engine.Grant) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("ensure grant " + g.Database + " to " + g.User)
	return nil
}

func (e *objectEngine) DropGrant(_ context.Context, _ *engine.Cluster, g engine.Grant) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("drop grant " + g.Database + " to " + g.User)
	return nil
}

type objectFixture struct {
	r    *Reconciler
	s    store.Store
	eng  *objectEngine
	ds   *model.Datastore
	head func(status string) model.Object
}

func newObjectFixture(t *testing.T) *objectFixture {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, "", t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	project := "0123456789abcdef0123456789abcdef"
	typ := &model.DatastoreType{ID: uuid.NewString(), Engine: "memory", Version: "1"}
	ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: now, UpdatedAt: now},
		Name: "ds", TypeID: typ.ID, FlavorID: uuid.NewString(), NodeCount: 1, Status: model.StatusActive,
		Enabled: true, Generation: 1}
	err = s.InTx(ctx, func(tx store.Tx) error {
		return errors.Join(tx.Projects().Insert(ctx, &model.Project{ID: project, Name: "p", CreatedAt: now}),
			tx.DatastoreTypes().Insert(ctx, typ), tx.Datastores().Insert(ctx, ds))
	})
	if err != nil {
		t.Fatal(err)
	}
	eng := &objectEngine{users: map[string]string{}, dbs: map[string]string{}}
	r := New(s, map[string]engine.Driver{"memory": eng}, Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	r.now = func() time.Time { return now }
	return &objectFixture{r: r, s: s, eng: eng, ds: ds, head: func(status string) model.Object {
		return model.Object{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: now, UpdatedAt: now},
			DatastoreID: ds.ID, Status: status}
	}}
}

func (f *objectFixture) run(t *testing.T, name, id string) error {
	t.Helper()
	ok, err := f.r.runObjectAction(context.Background(), &model.Action{Name: name, ResourceID: id})
	if !ok {
		t.Fatalf("%s is not an object action", name)
	}
	return err
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Every action name of every kind reaches the kind, and create, update and
// delete go the right way.
func TestEveryObjectActionHasItsKind(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range objectKinds {
		n := k.names()
		if seen[n.Resource] {
			t.Errorf("kind %s described twice", n.Resource)
		}
		seen[n.Resource] = true
		if kindByResource[n.Resource] != k {
			t.Errorf("%s: not found by its resource type", n.Resource)
		}
		for _, c := range []struct {
			action string
			drop   bool
		}{{n.Create, false}, {n.Update, false}, {n.Delete, true}} {
			if c.action == "" {
				continue
			}
			if oa := objectActions[c.action]; oa.kind != k || oa.drop != c.drop {
				t.Errorf("action %s: kind %v drop %v", c.action, oa.kind, oa.drop)
			}
		}
	}
	if len(seen) != 7 {
		t.Errorf("%d kinds, want the 7 objects of the API", len(seen))
	}
}

// The generic path: an action ensures the object in the engine and marks
// it ACTIVE; dropping a user removes it from the engine and, with its
// record, the records of its grants; an engine without a kind answers a
// permanent "unsupported".
func TestObjectActions(t *testing.T) {
	t.Parallel()
	f := newObjectFixture(t)
	ctx := context.Background()
	u := &model.User{Object: f.head(model.StatusPendingCreate), Name: "alice", Password: "secret-1"}
	db := &model.Database{Object: f.head(model.StatusPendingCreate), Name: "shop", OwnerID: u.ID}
	g := &model.Grant{Object: f.head(model.StatusPendingCreate), DatabaseID: db.ID, UserID: u.ID}
	mustDo(t, f.s.Users().Insert(ctx, u))
	mustDo(t, f.s.Databases().Insert(ctx, db))
	mustDo(t, f.s.Grants().Insert(ctx, g))

	mustDo(t, f.run(t, model.ActUserCreate, u.ID))
	mustDo(t, f.run(t, model.ActDatabaseCreate, db.ID))
	mustDo(t, f.run(t, model.ActGrantCreate, g.ID))
	if f.eng.users["alice"] != "secret-1" || f.eng.dbs["shop"] != "alice" {
		t.Fatalf("engine after creates: users %v databases %v", f.eng.users, f.eng.dbs)
	}
	for _, st := range []func() (string, error){
		func() (string, error) { v, err := f.s.Users().Get(ctx, u.ID); return v.Status, err },
		func() (string, error) { v, err := f.s.Databases().Get(ctx, db.ID); return v.Status, err },
		func() (string, error) { v, err := f.s.Grants().Get(ctx, g.ID); return v.Status, err },
	} {
		if got, err := st(); err != nil || got != model.StatusActive {
			t.Errorf("status after create: %q %v, want ACTIVE", got, err)
		}
	}

	// An update of a database re-applies its ACTIVE grants (after an
	// owner change the engine may have rewritten them).
	f.eng.calls = nil
	mustDo(t, f.run(t, model.ActDatabaseUpdate, db.ID))
	if want := []string{"ensure database shop owner alice", "ensure grant shop to alice"}; !equal(f.eng.calls, want) {
		t.Errorf("database update called %q, want %q", f.eng.calls, want)
	}

	// Dropping the database first would take the grant; drop the user
	// while it still has its grant instead.
	db.OwnerID = ""
	mustDo(t, f.s.Databases().Update(ctx, db))
	mustDo(t, f.run(t, model.ActUserDelete, u.ID))
	if _, ok := f.eng.users["alice"]; ok {
		t.Error("user still in the engine after its delete action")
	}
	if _, err := f.s.Users().Get(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user record after delete: %v, want not found", err)
	}
	if _, err := f.s.Grants().Get(ctx, g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("grant record of the dropped user: %v, want not found (it went with the user)", err)
	}
	// A second delete (a retry after a crash) finds nothing to do.
	if err := f.run(t, model.ActUserDelete, u.ID); err != nil {
		t.Errorf("repeated delete: %v", err)
	}

	topic := &model.Topic{Object: f.head(model.StatusPendingCreate), Name: "t", Partitions: 1}
	mustDo(t, f.s.Topics().Insert(ctx, topic))
	err := f.run(t, model.ActTopicCreate, topic.ID)
	if !errors.Is(err, engine.ErrUnsupported) || !errors.Is(err, errPermanent) {
		t.Errorf("topic on an engine without topics: %v, want a permanent ErrUnsupported", err)
	}
}

// A repair ensures every live object in dependency order, marks ACTIVE
// those still PENDING_CREATE, and leaves objects being deleted or in ERROR
// to their own actions.
func TestRepairEnsuresLiveObjects(t *testing.T) {
	t.Parallel()
	f := newObjectFixture(t)
	ctx := context.Background()
	ok := &model.User{Object: f.head(model.StatusActive), Name: "kept"}
	pending := &model.User{Object: f.head(model.StatusPendingCreate), Name: "new"}
	going := &model.User{Object: f.head(model.StatusPendingDelete), Name: "going"}
	failed := &model.User{Object: f.head(model.StatusError), Name: "failed"}
	db := &model.Database{Object: f.head(model.StatusActive), Name: "shop", OwnerID: ok.ID}
	g := &model.Grant{Object: f.head(model.StatusPendingCreate), DatabaseID: db.ID, UserID: pending.ID}
	for _, u := range []*model.User{ok, pending, going, failed} {
		mustDo(t, f.s.Users().Insert(ctx, u))
	}
	mustDo(t, f.s.Databases().Insert(ctx, db))
	mustDo(t, f.s.Grants().Insert(ctx, g))

	st, err := f.r.load(ctx, f.s, f.ds.ID)
	mustDo(t, err)
	mustDo(t, f.r.ensureObjects(ctx, st, f.r.cluster(st)))

	users := make([]string, 0, len(f.eng.users))
	for n := range f.eng.users {
		users = append(users, n)
	}
	sort.Strings(users)
	if !equal(users, []string{"kept", "new"}) {
		t.Errorf("users ensured: %v, want kept and new only", users)
	}
	last := len(f.eng.calls) - 1
	if last < 0 || f.eng.calls[last] != "ensure grant shop to new" {
		t.Errorf("calls %q: the grant must come after its user and database", f.eng.calls)
	}
	for id, want := range map[string]string{ok.ID: model.StatusActive, pending.ID: model.StatusActive,
		going.ID: model.StatusPendingDelete, failed.ID: model.StatusError} {
		if v, err := f.s.Users().Get(ctx, id); err != nil || v.Status != want {
			t.Errorf("user %s after repair: %v %v, want %s", id, v, err, want)
		}
	}
	if v, err := f.s.Grants().Get(ctx, g.ID); err != nil || v.Status != model.StatusActive {
		t.Errorf("pending grant after repair: %v %v, want ACTIVE", v, err)
	}

	// Deleting the datastore's records removes every object record.
	mustDo(t, f.s.InTx(ctx, func(tx store.Tx) error { return deleteChildren(ctx, tx, f.ds.ID) }))
	if n, err := f.s.Users().Count(ctx, store.Filter{DatastoreID: f.ds.ID}); err != nil || n != 0 {
		t.Errorf("users left after deleteChildren: %d %v", n, err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
