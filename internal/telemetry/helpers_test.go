package telemetry

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// fakeDriver is an engine whose samples and log files the test decides.
type fakeDriver struct {
	mu     sync.Mutex
	sample func(c *engine.Cluster) (engine.Sample, error)
	// sampleCtx, when set, is used instead of sample.
	sampleCtx func(ctx context.Context, c *engine.Cluster) (engine.Sample, error)
	logs      func(c *engine.Cluster) []engine.LogFile
}

func (f *fakeDriver) Info(context.Context) (engine.Info, error) {
	return engine.Info{Engine: "fake"}, nil
}
func (f *fakeDriver) Catalog(context.Context) (engine.Catalog, error) { return engine.Catalog{}, nil }
func (f *fakeDriver) Ensure(context.Context, *engine.Cluster) error   { return nil }
func (f *fakeDriver) Observe(context.Context, *engine.Cluster) (engine.Observation, error) {
	return engine.Observation{}, nil
}
func (f *fakeDriver) Stop(context.Context, *engine.Cluster) error    { return nil }
func (f *fakeDriver) Destroy(context.Context, *engine.Cluster) error { return nil }

func (f *fakeDriver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	f.mu.Lock()
	fn, fnCtx := f.sample, f.sampleCtx
	f.mu.Unlock()
	if fnCtx != nil {
		return fnCtx(ctx, c)
	}
	if fn == nil {
		return engine.Sample{}, nil
	}
	return fn(c)
}

func (f *fakeDriver) LogFiles(c *engine.Cluster) []engine.LogFile {
	if f.logs == nil {
		return nil
	}
	return f.logs(c)
}

// fixture is a store with one project, a datastore of the fake engine
// with two instances, and a telemetry service over them.
type fixture struct {
	t       *testing.T
	st      store.Store
	svc     *Service
	drv     *fakeDriver
	project string
	ds      *model.Datastore
	insts   []model.Instance
	now     time.Time
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "dbaasd.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, st: st, drv: &fakeDriver{}, now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	f.project = f.addProject()
	f.ds, f.insts = f.addDatastore(f.project, "main")
	if cfg.DataDir == "" {
		cfg.DataDir = dir
	}
	f.svc = New(st, map[string]engine.Driver{"fake": f.drv}, cfg, NewSelf(), nil)
	f.svc.now = func() time.Time { return f.now }
	return f
}

func (f *fixture) addProject() string {
	f.t.Helper()
	id := uuid.NewString()
	id = id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
	if err := f.st.Projects().Insert(context.Background(), &model.Project{ID: id, Name: "p", CreatedAt: f.now}); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// addDatastore adds an ACTIVE datastore of the fake engine with two
// instances (a master and a replica) on 127.0.0.1.
func (f *fixture) addDatastore(project, name string) (*model.Datastore, []model.Instance) {
	f.t.Helper()
	ctx := context.Background()
	typeID := "fake-type"
	if _, err := f.st.DatastoreTypes().Get(ctx, typeID); err != nil {
		if err := f.st.DatastoreTypes().Insert(ctx, &model.DatastoreType{ID: typeID, Engine: "fake", Version: "1"}); err != nil {
			f.t.Fatal(err)
		}
	}
	done := f.now
	ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: f.now, UpdatedAt: f.now},
		Name: name, TypeID: typeID, NodeCount: 2, Status: model.StatusActive, Enabled: true, Config: map[string]any{},
		Firewall: []string{}, SecurityGroups: []string{}, CreationFinishedAt: &done, AdminPassword: "admin-secret", Generation: 1}
	if err := f.st.Datastores().Insert(ctx, ds); err != nil {
		f.t.Fatal(err)
	}
	var insts []model.Instance
	for i, role := range []string{model.RoleMaster, model.RoleReplica} {
		in := model.Instance{ID: uuid.NewString(), ProjectID: project, DatastoreID: ds.ID, Index: i, Role: role,
			Status: model.StatusActive, Host: "127.0.0.1", Port: 21000 + i, Hostname: "node-" + string(rune('0'+i)) + "-" + ds.ID[:8],
			CreatedAt: f.now}
		if err := f.st.Instances().Insert(ctx, &in); err != nil {
			f.t.Fatal(err)
		}
		insts = append(insts, in)
	}
	return ds, insts
}
