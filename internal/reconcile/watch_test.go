package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// The watch keeps the stable live datastores for every round and queues
// the datastores in ERROR by their next look; a datastore whose record
// changed is due again at once, one that left ERROR is forgotten.
func TestWatchPlan(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	row := func(id, status string, deleted bool) model.Datastore {
		return model.Datastore{Base: model.Base{ID: id, UpdatedAt: t0}, Status: status, Deleted: deleted, Generation: 1}
	}
	rows := []model.Datastore{
		row("active", model.StatusActive, false),
		row("degraded", model.StatusDegraded, false),
		row("creating", model.StatusPendingCreate, false),
		row("err1", model.StatusError, false),
		row("err2", model.StatusError, false),
		row("gone", model.StatusError, true),
	}
	ids := func(es []*failedEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, e.ds.ID)
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	var w watch
	fresh, gone := w.update(store.DatastoreSnapshot{Version: 1, Rows: rows}, t0)
	var stableIDs []string
	for _, ds := range w.stable {
		stableIDs = append(stableIDs, ds.ID)
	}
	if fmt.Sprint(stableIDs) != "[active degraded]" {
		t.Errorf("stable = %v", stableIDs)
	}
	if ids(fresh) != "[err1 err2]" || len(gone) != 0 {
		t.Fatalf("first plan: fresh %s, gone %v", ids(fresh), gone)
	}
	due := w.due(t0)
	if ids(due) != "[err1 err2]" {
		t.Fatalf("due at first = %s", ids(due))
	}
	for _, e := range due {
		at := t0.Add(time.Minute)
		if e.ds.ID == "err2" {
			at = never
		}
		w.next(e, at)
	}
	if d := w.due(t0.Add(59 * time.Second)); len(d) != 0 {
		t.Fatalf("due before their time: %s", ids(d))
	}
	// The same records again (a write elsewhere in the table): nothing new.
	again := append([]model.Datastore(nil), rows...)
	if fresh, gone := w.update(store.DatastoreSnapshot{Version: 2, Rows: again}, t0.Add(time.Second)); len(fresh) != 0 || len(gone) != 0 {
		t.Fatalf("unchanged records: fresh %s, gone %v", ids(fresh), gone)
	}
	if d := w.due(t0.Add(time.Minute)); ids(d) != "[err1]" {
		t.Fatalf("due after a minute = %s", ids(d))
	} else {
		w.next(d[0], t0.Add(2*time.Minute))
	}
	// err2 failed again (its record was written): due at once; err1 was
	// repaired (ACTIVE): forgotten, and observed every round.
	again[3].Status = model.StatusActive
	again[4].UpdatedAt = t0.Add(90 * time.Second)
	fresh, gone = w.update(store.DatastoreSnapshot{Version: 3, Rows: again}, t0.Add(90*time.Second))
	if ids(fresh) != "[err2]" || fmt.Sprint(gone) != "[err1]" {
		t.Fatalf("after changes: fresh %s, gone %v", ids(fresh), gone)
	}
	if d := w.due(t0.Add(90 * time.Second)); ids(d) != "[err2]" {
		t.Fatalf("due after its record changed = %s", ids(d))
	}
	if len(w.stable) != 3 || len(w.queue) != 0 || len(w.failed) != 1 {
		t.Fatalf("stable %d, queued %d, failed %d", len(w.stable), len(w.queue), len(w.failed))
	}
}

// countingStore counts the store's queries of actions and instances.
type countingStore struct {
	store.Store
	actions, instances atomic.Int64
}

func (c *countingStore) Actions() store.Repo[model.Action] {
	c.actions.Add(1)
	return c.Store.Actions()
}

func (c *countingStore) Instances() store.Repo[model.Instance] {
	c.instances.Add(1)
	return c.Store.Instances()
}

// openTestStore opens a SQLite store in a temporary directory, wrapped to
// count its queries of actions and instances.
func openTestStore(t *testing.T) (*countingStore, string) {
	t.Helper()
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := store.Open(context.Background(), "", dir, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &countingStore{Store: db}, dir
}

// What observe loads of a datastore is reused while its project's records
// are unchanged, and read again after any write of them (here an
// instance's, as another dbaasd would write it).
func TestLoadObservedFollowsProjectVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs, dir := openTestStore(t)
	db := cs.Store
	clock := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	typ := &model.DatastoreType{ID: uuid.NewString(), Engine: "postgresql", Version: "16"}
	project := "p" + uuid.NewString()[:8]
	ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: clock, UpdatedAt: clock},
		Name: "ds", TypeID: typ.ID, FlavorID: uuid.NewString(), NodeCount: 1, Status: model.StatusActive, Enabled: true, Generation: 1}
	in := &model.Instance{ID: uuid.NewString(), ProjectID: project, DatastoreID: ds.ID, Role: model.RoleMaster, RoleName: "master",
		Status: model.StatusActive, CreatedAt: clock}
	for _, err := range []error{
		db.DatastoreTypes().Insert(ctx, typ),
		db.Projects().Insert(ctx, &model.Project{ID: project, Name: "p", CreatedAt: clock}),
		db.Datastores().Insert(ctx, ds),
		db.Instances().Insert(ctx, in),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	r := New(cs, map[string]engine.Driver{"postgresql": struct{ engine.Driver }{}}, Config{DataDir: dir}, slog.New(slog.DiscardHandler))
	load := func() *state {
		t.Helper()
		st, err := r.loadObserved(ctx, ds.ID, project)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first := load()
	before := cs.instances.Load()
	if again := load(); again != first || cs.instances.Load() != before {
		t.Fatalf("unchanged project: loaded again (%d instance queries)", cs.instances.Load()-before)
	}
	in.Status = model.StatusDown
	if err := db.Instances().Update(ctx, in); err != nil {
		t.Fatal(err)
	}
	if st := load(); len(st.insts) != 1 || st.insts[0].Status != model.StatusDown {
		t.Fatalf("after an instance was written: %+v", st.insts)
	}
	// Without a project (a datastore whose primary is down), always read.
	before = cs.instances.Load()
	if _, err := r.loadObserved(ctx, ds.ID, ""); err != nil || cs.instances.Load() != before+1 {
		t.Fatalf("load without a project: %v, %d instance queries", err, cs.instances.Load()-before)
	}
}

// Datastores in ERROR cost the prober nothing between their looks: after
// the first round (a few queries over all of them), a round queries the
// action queue a fixed number of times however many there are. One whose
// action fails (its record is marked again) is looked at at once and
// retried; one with a directory is looked at every errorLookEvery.
func TestProbeFailedDatastores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs, dir := openTestStore(t)
	db := cs.Store
	r := New(cs, nil, Config{DataDir: dir, ProbeInterval: time.Second, RetryAfter: time.Minute}, slog.New(slog.DiscardHandler))
	clock := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return clock }

	const n = 2 * bulkFresh
	project := "p" + uuid.NewString()[:8]
	if err := db.Projects().Insert(ctx, &model.Project{ID: project, Name: "p", CreatedAt: clock}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: clock, UpdatedAt: clock},
			Name: fmt.Sprintf("ds%d", i), TypeID: uuid.NewString(), FlavorID: uuid.NewString(), NodeCount: 1,
			Status: model.StatusError, Enabled: true, Generation: 1, CreationFinishedAt: &clock}
		if err := db.Datastores().Insert(ctx, ds); err != nil {
			t.Fatal(err)
		}
		status := model.StatusDown
		if i == 1 {
			status = model.StatusActive // recorded ACTIVE, but nothing of it can run
		}
		if err := db.Instances().Insert(ctx, &model.Instance{ID: uuid.NewString(), ProjectID: project, DatastoreID: ds.ID,
			Role: model.RoleMaster, RoleName: "master", Status: status, CreatedAt: clock}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ds.ID)
	}
	withDir := ids[2]
	if err := os.MkdirAll(r.Layout().ClusterDir(withDir), 0o700); err != nil {
		t.Fatal(err)
	}
	queries := func() int64 { return cs.actions.Load() + cs.instances.Load() }

	before := queries()
	r.ProbeAll(ctx)
	// The first round: a few queries over every datastore, then queries
	// for the two with something to look at only (one with a directory,
	// one without whose instance is recorded ACTIVE); the retry checks of
	// the others are settled by one query: they have no failed action.
	if q := queries() - before; q > 20 {
		t.Errorf("first round over %d datastores in ERROR: %d queries", n, q)
	}
	for round := 0; round < 3; round++ {
		clock = clock.Add(time.Second)
		before = queries()
		r.ProbeAll(ctx)
		if q := queries() - before; q > 3 {
			t.Errorf("idle round %d: %d queries", round, q)
		}
	}
	// The one with a directory is looked at again after errorLookEvery.
	if at := r.nextLook(withDir); !at.Equal(clock.Add(-3 * time.Second).Add(errorLookEvery)) {
		t.Errorf("next look at a datastore with a directory: %v", at)
	}
	// An action of ids[0] fails: it is marked ERROR again and retried.
	failed := clock.Add(-time.Hour)
	if err := db.Actions().Insert(ctx, &model.Action{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: failed, UpdatedAt: failed},
		DatastoreID: ids[0], Name: model.ActDatastoreRepair, ResourceType: "datastore", ResourceID: ids[0],
		Status: model.ActionError, FinishTime: &failed, Failures: 1}); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Datastores().Get(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	ds.UpdatedAt = clock
	if err := db.Datastores().Update(ctx, ds); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	r.ProbeAll(ctx)
	retries, err := db.Actions().List(ctx, store.Filter{DatastoreID: ids[0], RequestID: "dbaasd-retry"})
	if err != nil || len(retries) != 1 {
		t.Fatalf("retry of a datastore whose action failed: %d actions (%v)", len(retries), err)
	}
}

// A single-node datastore found ACTIVE and as recorded steadyAfter times
// in a row is observed every steadyEvery rounds; one of several nodes
// (which may have to fail over) every round; an observation that finds
// anything else, or a change of its record, makes it observed every
// round again.
func TestSteadySkip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs, dir := openTestStore(t)
	r := New(cs, nil, Config{DataDir: dir, ProbeInterval: time.Second}, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	one := model.Datastore{Base: model.Base{ID: uuid.NewString(), UpdatedAt: t0}, NodeCount: 1, Status: model.StatusActive, Generation: 1}
	three := model.Datastore{Base: model.Base{ID: uuid.NewString(), UpdatedAt: t0}, NodeCount: 3, Status: model.StatusActive, Generation: 1}
	if err := r.plan(ctx, store.DatastoreSnapshot{Version: 1, Rows: []model.Datastore{one, three}}); err != nil {
		t.Fatal(err)
	}
	observed := func(ds *model.Datastore, rounds int) int {
		n := 0
		for i := 0; i < rounds; i++ {
			r.round++
			if !r.steadySkip(ds) {
				n++
			}
		}
		return n
	}
	if n := observed(&one, 6); n != 6 {
		t.Fatalf("before it was found steady: observed in %d rounds of 6", n)
	}
	for i := 0; i < steadyAfter; i++ {
		r.noteSteady(one.ID, true)
		r.noteSteady(three.ID, true)
	}
	if n := observed(&one, 3*steadyEvery); n != 3 {
		t.Errorf("steady single node: observed in %d rounds of %d", n, 3*steadyEvery)
	}
	if n := observed(&three, 6); n != 6 {
		t.Errorf("three nodes: observed in %d rounds of 6", n)
	}
	r.noteSteady(one.ID, false) // found changed
	if n := observed(&one, 6); n != 6 {
		t.Errorf("after a change was observed: observed in %d rounds of 6", n)
	}
	for i := 0; i < steadyAfter; i++ {
		r.noteSteady(one.ID, true)
	}
	// Its record is written (by an API call, say): every round again.
	one.UpdatedAt = t0.Add(time.Minute)
	if err := r.plan(ctx, store.DatastoreSnapshot{Version: 2, Rows: []model.Datastore{one, three}}); err != nil {
		t.Fatal(err)
	}
	if n := observed(&one, 6); n != 6 {
		t.Errorf("after its record changed: observed in %d rounds of 6", n)
	}
}
