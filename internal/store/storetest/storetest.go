// Package storetest is the conformance suite every store.Store must pass.
// The SQLite and PostgreSQL stores run it from their tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Opener opens a store; calling it twice with the same test must give two
// handles on the same durable state (a "restart").
type Opener func(t *testing.T) (open func() store.Store)

// Run runs the conformance suite. newStore returns a function that opens
// the same fresh store each time it is called.
func Run(t *testing.T, newStore Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, func() store.Store)
	}{
		{"CRUDAndFilters", testCRUD},
		{"UniqueAndMissing", testUniqueAndMissing},
		{"TransactionRollsBack", testRollback},
		{"SurvivesReopen", testReopen},
		{"ConcurrentQuota", testConcurrentQuota},
		{"UsageSums", testUsage},
		{"UsageCountsFollowWrites", testUsageCounts},
		{"Tokens", testTokens},
		{"ProjectVersions", testProjectVersions},
		{"Summaries", testSummaries},
		{"DatastoreSnapshot", testDatastoreSnapshot},
		{"Ports", testPorts},
		{"ActionQueue", testActionQueue},
		{"FailoverBesideBackup", testFailoverBesideBackup},
		{"BackupLimit", testBackupLimit},
		{"ActionLeaseExpiry", testLeaseExpiry},
		{"CatalogRoundTrip", testCatalog},
		{"Backups", testBackups}, {"ArchiveFiles", testArchiveFiles}, {"RecoveryWindow", testRecoveryWindow},
		{"Leases", testLeases},
		{"LeaseHolder", testLeaseHolder},
		{"Samples", testSamples}, {"PruneSamples", testPruneSamples}, {"LogOffsets", testLogOffsets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			open := newStore(t)
			tc.fn(t, open)
		})
	}
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func ctx() context.Context { return context.Background() }

func project(t *testing.T, s store.Store) string {
	t.Helper()
	id := uuid.New().String()
	id = id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
	if err := s.Projects().Insert(ctx(), &model.Project{ID: id, Name: "p", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return id
}

func datastore(project string) *model.Datastore {
	return &model.Datastore{
		Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: now, UpdatedAt: now},
		Name: "ds", TypeID: uuid.NewString(), SubnetID: "subnet", FlavorID: uuid.NewString(),
		Flavor: model.Flavor{VCPUs: 2, RAM: 4096, Disk: 32, DiskType: "local"}, NodeCount: 1,
		Status: model.StatusPendingCreate, Enabled: true, BackupRetentionDays: 7,
		Config:   map[string]any{"work_mem": float64(4096), "jit": false},
		Firewall: []string{"10.0.0.1"}, SecurityGroups: []string{},
		Pooler:        &model.Pooler{Mode: "transaction", Size: 10},
		RedisPassword: "redis-secret", AdminPassword: "admin-secret", Generation: 1,
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testCRUD(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	must(t, s.Datastores().Insert(ctx(), d))

	got, err := s.Datastores().Get(ctx(), d.ID)
	must(t, err)
	if got.Name != "ds" || got.Flavor != d.Flavor || got.Pooler == nil || got.Pooler.Size != 10 ||
		got.Config["work_mem"] != float64(4096) || got.Config["jit"] != false || got.RedisPassword != "redis-secret" ||
		got.AdminPassword != "admin-secret" || len(got.Firewall) != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("round trip changed the datastore: %+v", got)
	}

	u := &model.User{Object: model.Object{Base: model.Base{ID: uuid.NewString(), ProjectID: p, CreatedAt: now, UpdatedAt: now}, DatastoreID: d.ID, Status: model.StatusPendingCreate}, Name: "alice", Password: "pw"}
	must(t, s.Users().Insert(ctx(), u))
	u2 := *u
	u2.ID, u2.Name, u2.Status = uuid.NewString(), "bob", model.StatusActive
	must(t, s.Users().Insert(ctx(), &u2))

	cases := []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{ProjectID: p}, 2},
		{store.Filter{ProjectID: p, Status: model.StatusActive}, 1},
		{store.Filter{ProjectID: p, Name: "alice", DatastoreID: d.ID}, 1},
		{store.Filter{ProjectID: "other"}, 0},
	}
	for _, c := range cases {
		list, err := s.Users().List(ctx(), c.f)
		must(t, err)
		n, err := s.Users().Count(ctx(), c.f)
		must(t, err)
		if len(list) != c.want || n != c.want {
			t.Errorf("filter %v: list %d count %d, want %d", c.f, len(list), n, c.want)
		}
	}
	if list, _ := s.Users().List(ctx(), store.Filter{ProjectID: "none"}); list == nil {
		t.Error("empty list is nil, want an empty slice")
	}
	if _, err := s.Users().List(ctx(), store.Filter{Engine: "a users record has no engine"}); err == nil {
		t.Error("filter by an unknown field succeeded")
	}

	got.Name, got.Status, got.Pooler = "renamed", model.StatusActive, nil
	must(t, s.Datastores().Update(ctx(), got))
	again, err := s.Datastores().Get(ctx(), d.ID)
	must(t, err)
	if again.Name != "renamed" || again.Pooler != nil {
		t.Fatalf("update not visible: %+v", again)
	}
	ds, err := s.Datastores().List(ctx(), store.Filter{ProjectID: p, Deleted: store.No, Enabled: store.Yes})
	must(t, err)
	if len(ds) != 1 {
		t.Fatalf("boolean filters matched %d datastores, want 1", len(ds))
	}

	must(t, s.Users().Delete(ctx(), u.ID))
	if _, err := s.Users().Get(ctx(), u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func testUniqueAndMissing(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	must(t, s.Datastores().Insert(ctx(), d))
	if err := s.Datastores().Insert(ctx(), d); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate ID insert: %v, want ErrConflict", err)
	}
	db := &model.Database{Object: model.Object{Base: model.Base{ID: uuid.NewString(), ProjectID: p, CreatedAt: now, UpdatedAt: now}, DatastoreID: d.ID, Status: model.StatusActive}, Name: "app"}
	must(t, s.Databases().Insert(ctx(), db))
	dup := *db
	dup.ID = uuid.NewString()
	if err := s.Databases().Insert(ctx(), &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name insert: %v, want ErrConflict", err)
	}
	if err := s.Databases().Update(ctx(), &model.Database{Object: model.Object{Base: model.Base{ID: "missing"}}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if err := s.Databases().Delete(ctx(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func testRollback(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	boom := errors.New("boom")
	err := s.InTx(ctx(), func(tx store.Tx) error {
		must(t, tx.Datastores().Insert(ctx(), d))
		must(t, tx.Actions().Insert(ctx(), action(p, d.ID, now)))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v", err)
	}
	if _, err := s.Datastores().Get(ctx(), d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a rolled-back insert is visible")
	}
	if n, _ := s.Actions().Count(ctx(), store.Filter{ProjectID: p}); n != 0 {
		t.Fatal("a rolled-back action is visible")
	}
	must(t, s.InTx(ctx(), func(tx store.Tx) error { return tx.Datastores().Insert(ctx(), d) }))
	if _, err := s.Datastores().Get(ctx(), d.ID); err != nil {
		t.Fatalf("committed insert not visible: %v", err)
	}
}

func testReopen(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	must(t, s.Datastores().Insert(ctx(), d))
	must(t, s.Close())
	s2 := open()
	got, err := s2.Datastores().Get(ctx(), d.ID)
	if err != nil || got.RedisPassword != "redis-secret" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func testConcurrentQuota(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	const quota, workers = 3, 12
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx(), func(tx store.Tx) error {
				if err := tx.LockProject(ctx(), p); err != nil {
					return err
				}
				u, err := tx.Usage(ctx(), p)
				if err != nil {
					return err
				}
				if u.Datastores >= quota {
					return nil
				}
				return tx.Datastores().Insert(ctx(), datastore(p))
			})
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			created.Add(1)
		}()
	}
	wg.Wait()
	n, err := s.Datastores().Count(ctx(), store.Filter{ProjectID: p})
	must(t, err)
	if n != quota {
		t.Fatalf("%d datastores exist under a quota of %d", n, quota)
	}
}

func testUsage(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	a := datastore(p)
	a.NodeCount = 3
	b := datastore(p)
	b.Flavor.DiskType = "network-ultra"
	c := datastore(p)
	c.Deleted = true
	for _, d := range []*model.Datastore{a, b, c} {
		must(t, s.Datastores().Insert(ctx(), d))
	}
	must(t, s.MetricsTokens().Insert(ctx(), &model.MetricsToken{Base: model.Base{ID: uuid.NewString(), ProjectID: p,
		CreatedAt: now, UpdatedAt: now}, Name: "t", ValueHash: uuid.NewString()}))
	u, err := s.Usage(ctx(), p)
	must(t, err)
	want := store.Usage{Datastores: 2, Cores: 8, RAM: 4 * 4096, DiskLocal: 96, DiskNetworkUltra: 32,
		FirewallRules: 2, MetricsTokens: 1}
	if u != want {
		t.Fatalf("usage = %+v, want %+v", u, want)
	}
	part, err := s.Usage(ctx(), p, "prometheus_metrics_tokens")
	must(t, err)
	if part != (store.Usage{MetricsTokens: 1}) {
		t.Fatalf("usage of metrics tokens only = %+v", part)
	}
	must(t, s.SetQuota(ctx(), model.Quota{ProjectID: p, Resource: "datastores", Limit: 5}))
	must(t, s.SetQuota(ctx(), model.Quota{ProjectID: p, Resource: "datastores", Limit: 6}))
	q, err := s.Quotas(ctx(), p)
	must(t, err)
	if q["datastores"] != 6 || len(q) != 1 {
		t.Fatalf("quotas = %v", q)
	}
}

// testUsageCounts checks that the counts a quota check reads follow every
// write of a counted table: inserts, deletes, a row moved to another
// project, writes seen inside their own transaction, and rollbacks.
func testUsageCounts(t *testing.T, open func() store.Store) {
	s := open()
	p, q := project(t, s), project(t, s)
	token := func(project string) *model.MetricsToken {
		return &model.MetricsToken{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: now,
			UpdatedAt: now}, Name: "t", ValueHash: uuid.NewString()}
	}
	check := func(r store.Reader[model.MetricsToken], tx interface {
		Usage(context.Context, string, ...string) (store.Usage, error)
	}, project string, want int64) {
		t.Helper()
		u, err := tx.Usage(ctx(), project, "prometheus_metrics_tokens")
		must(t, err)
		n, err := r.Count(ctx(), store.Filter{ProjectID: project})
		must(t, err)
		if u.MetricsTokens != want || int64(n) != want {
			t.Fatalf("project %s: usage %d, rows %d, want %d", project, u.MetricsTokens, n, want)
		}
	}
	check(s.MetricsTokens(), s, p, 0)
	a, b, c := token(p), token(p), token(p)
	for _, v := range []*model.MetricsToken{a, b, c} {
		must(t, s.MetricsTokens().Insert(ctx(), v))
	}
	check(s.MetricsTokens(), s, p, 3)
	must(t, s.MetricsTokens().Delete(ctx(), a.ID))
	check(s.MetricsTokens(), s, p, 2)
	b.ProjectID = q
	must(t, s.MetricsTokens().Update(ctx(), b))
	check(s.MetricsTokens(), s, p, 1)
	check(s.MetricsTokens(), s, q, 1)
	c.Name = "renamed"
	must(t, s.MetricsTokens().Update(ctx(), c))
	check(s.MetricsTokens(), s, p, 1)

	boom := errors.New("boom")
	err := s.InTx(ctx(), func(tx store.Tx) error {
		must(t, tx.MetricsTokens().Insert(ctx(), token(p)))
		must(t, tx.MetricsTokens().Insert(ctx(), token(p)))
		check(tx.MetricsTokens(), tx, p, 3)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v", err)
	}
	check(s.MetricsTokens(), s, p, 1)
	all, err := s.Usage(ctx(), p)
	must(t, err)
	if all.MetricsTokens != 1 {
		t.Fatalf("usage = %+v", all)
	}
}

func testTokens(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	past, future := now.Add(-time.Hour), time.Now().Add(time.Hour)
	must(t, s.PutToken(ctx(), model.Token{Hash: "h1", ProjectID: p, Admin: true, Source: "static", CreatedAt: now}))
	must(t, s.PutToken(ctx(), model.Token{Hash: "h2", ProjectID: p, Source: "identity", ExpiresAt: &past, CreatedAt: now}))
	must(t, s.PutToken(ctx(), model.Token{Hash: "h3", ProjectID: p, Source: "identity", ExpiresAt: &future, CreatedAt: now}))
	tok, err := s.Token(ctx(), "h1")
	must(t, err)
	if !tok.Admin || tok.ProjectID != p {
		t.Fatalf("token = %+v", tok)
	}
	if n, _ := s.CountTokens(ctx(), "identity"); n != 2 {
		t.Fatalf("identity tokens = %d", n)
	}
	if n, _ := s.DeleteExpiredTokens(ctx(), time.Now()); n != 1 {
		t.Fatalf("deleted %d expired tokens, want 1", n)
	}
	must(t, s.PutToken(ctx(), model.Token{Hash: "s2", ProjectID: p, Source: "static", CreatedAt: now}))
	must(t, s.PruneTokens(ctx(), "static", []string{"s2"}))
	if _, err := s.Token(ctx(), "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned static token still there: %v", err)
	}
	if _, err := s.Token(ctx(), "s2"); err != nil {
		t.Fatalf("kept static token gone: %v", err)
	}
	if _, err := s.Token(ctx(), "h3"); err != nil {
		t.Fatalf("pruning static tokens removed an identity token: %v", err)
	}
	must(t, s.DeleteToken(ctx(), "s2"))
	must(t, s.DeleteToken(ctx(), "s2"))
	if _, err := s.Token(ctx(), "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted token: %v", err)
	}
}

func testPorts(t *testing.T, open func() store.Store) {
	s := open()
	host := "127.0.0." + fmt.Sprint(2+time.Now().UnixNano()%200)
	taken := func(p int) bool { return p != 20001 } // 20001 is busy on the machine
	p1, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds1", "a", taken)
	must(t, err)
	p2, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds1", "b", taken)
	must(t, err)
	again, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds1", "a", taken)
	must(t, err)
	if p1 != 20000 || p2 != 20002 || again != p1 {
		t.Fatalf("ports %d %d %d, want 20000 20002 20000", p1, p2, again)
	}
	if _, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds2", "c", taken); err != nil {
		t.Fatalf("third port: %v", err)
	}
	if _, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds2", "d", taken); err == nil {
		t.Fatal("allocated a port from an exhausted range")
	}
	must(t, s.ReleasePorts(ctx(), "ds1", "a"))
	p, err := s.AllocatePort(ctx(), host, 20000, 20003, "ds2", "d", taken)
	must(t, err)
	if p != 20000 {
		t.Fatalf("released port not reused: got %d", p)
	}

	// An owner's further ports ("<owner>/<name>") are released with it,
	// and only its own.
	host2 := host + "1"
	for _, ow := range []string{"n1", "n1/gcomm", "n1/ist", "n10/gcomm", "n2/gcomm"} {
		if _, err := s.AllocatePort(ctx(), host2, 20000, 20009, "ds3", ow, nil); err != nil {
			t.Fatalf("allocate for %s: %v", ow, err)
		}
	}
	kept, err := s.AllocatePort(ctx(), host2, 20000, 20009, "ds3", "n10/gcomm", nil)
	must(t, err)
	must(t, s.ReleasePorts(ctx(), "ds3", "n1"))
	for _, ow := range []string{"x1", "x2", "x3"} {
		p, err := s.AllocatePort(ctx(), host2, 20000, 20009, "ds3", ow, nil)
		must(t, err)
		if p > 20002 {
			t.Fatalf("the released owner's three ports were not all free again: %s got %d", ow, p)
		}
	}
	if again, err := s.AllocatePort(ctx(), host2, 20000, 20009, "ds3", "n10/gcomm", nil); err != nil || again != kept {
		t.Fatalf("another owner's port changed: %d, was %d (%v)", again, kept, err)
	}
}

func action(project, datastoreID string, at time.Time) *model.Action {
	return &model.Action{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: at, UpdatedAt: at},
		DatastoreID: datastoreID, Name: "test", Status: model.ActionPending, Payload: map[string]any{"k": "v"}}
}

func finish(t *testing.T, s store.Store, a *model.Action) {
	t.Helper()
	a.Status = model.ActionSuccess
	must(t, s.Actions().Update(ctx(), a))
}

// testFailoverBesideBackup: a failover does not wait for a backup of its
// datastore that runs, while any other action still waits for both.
func testFailoverBesideBackup(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	backup := action(p, "ds-f", now)
	backup.Name = model.ActDatastoreBackup
	failover := action(p, "ds-f", now.Add(time.Second))
	failover.Name = model.ActDatastoreFailover
	other := action(p, "ds-f", now.Add(2*time.Second))
	for _, a := range []*model.Action{backup, failover, other} {
		must(t, s.Actions().Insert(ctx(), a))
	}
	lease := time.Now().Add(time.Minute)
	var got []string
	for i := 0; i < 3; i++ {
		a, err := s.ClaimAction(ctx(), "w", time.Now(), lease, 0)
		must(t, err)
		if a == nil {
			break
		}
		got = append(got, a.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{model.ActDatastoreBackup, model.ActDatastoreFailover}) {
		t.Fatalf("claimed %v, want the backup and the failover beside it (and nothing else)", got)
	}
}

// testBackupLimit: with a limit of one backup, a second backup waits
// while the first runs (the other actions behind it do not), and runs once
// the first is done or its owner's lease ran out.
func testBackupLimit(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	b1 := action(p, "ds-1", now)
	b2 := action(p, "ds-2", now.Add(time.Second))
	b1.Name, b2.Name = model.ActDatastoreBackup, model.ActDatastoreBackup
	create := action(p, "ds-3", now.Add(2*time.Second))
	for _, a := range []*model.Action{b1, b2, create} {
		must(t, s.Actions().Insert(ctx(), a))
	}
	t0 := time.Now()
	claim := func(at time.Time) *model.Action {
		t.Helper()
		a, err := s.ClaimAction(ctx(), "w", at, at.Add(10*time.Second), 1)
		must(t, err)
		return a
	}
	if got := claim(t0); got == nil || got.ID != b1.ID {
		t.Fatalf("first claim = %v, want the first backup", got)
	}
	got := claim(t0)
	if got == nil || got.ID != create.ID {
		t.Fatalf("second claim = %v, want the action behind the waiting backup", got)
	}
	if got := claim(t0); got != nil {
		t.Fatalf("third claim = %s %s, want nothing while a backup runs", got.Name, got.ID)
	}
	finish(t, s, got)
	// The first backup's owner died: its lease runs out, so it no longer
	// counts, and it is itself claimable again (oldest first).
	later := t0.Add(11 * time.Second)
	if got := claim(later); got == nil || got.ID != b1.ID {
		t.Fatalf("after the lease ran out claimed %v, want the first backup again", got)
	}
	if got := claim(later); got != nil {
		t.Fatalf("claimed %s beside the running backup", got.ID)
	}
	b1, err := s.Actions().Get(ctx(), b1.ID)
	must(t, err)
	finish(t, s, b1)
	if got := claim(later); got == nil || got.ID != b2.ID {
		t.Fatalf("after the first backup finished claimed %v, want the second", got)
	}
	// Without a limit, backups are claimed like any action.
	b3 := action(p, "ds-4", now.Add(3*time.Second))
	b3.Name = model.ActDatastoreBackup
	must(t, s.Actions().Insert(ctx(), b3))
	if got, err := s.ClaimAction(ctx(), "w", later, later.Add(time.Minute), 0); err != nil || got == nil || got.ID != b3.ID {
		t.Fatalf("unlimited claim = %v, %v; want the third backup beside the second", got, err)
	}
}

func testActionQueue(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	a1 := action(p, "ds-a", now)
	a2 := action(p, "ds-a", now.Add(time.Second))
	b1 := action(p, "ds-b", now.Add(2*time.Second))
	for _, a := range []*model.Action{a2, b1, a1} {
		must(t, s.Actions().Insert(ctx(), a))
	}
	lease := time.Now().Add(time.Minute)
	got1, err := s.ClaimAction(ctx(), "w1", time.Now(), lease, 0)
	must(t, err)
	got2, err := s.ClaimAction(ctx(), "w2", time.Now(), lease, 0)
	must(t, err)
	if got1 == nil || got2 == nil || got1.ID != a1.ID || got2.ID != b1.ID {
		t.Fatalf("claimed %v and %v, want a1 then b1 (a2 waits for a1)", got1, got2)
	}
	if got1.Status != model.ActionInProgress || got1.LeaseOwner != "w1" || got1.Attempts != 1 || got1.StartTime == nil ||
		got1.Payload["k"] != "v" {
		t.Fatalf("claimed action = %+v", got1)
	}
	if none, err := s.ClaimAction(ctx(), "w3", time.Now(), lease, 0); err != nil || none != nil {
		t.Fatalf("third claim = %v, %v; want nothing while a1 runs", none, err)
	}
	finish(t, s, got1)
	got3, err := s.ClaimAction(ctx(), "w3", time.Now(), lease, 0)
	must(t, err)
	if got3 == nil || got3.ID != a2.ID {
		t.Fatalf("after a1 finished claimed %v, want a2", got3)
	}
	must(t, s.RenewLease(ctx(), got3.ID, "w3", lease.Add(time.Minute)))
	if err := s.RenewLease(ctx(), got3.ID, "someone-else", lease); err == nil {
		t.Fatal("renewed a lease held by another owner")
	}

	// Many workers racing: each action is claimed exactly once.
	for i := 0; i < 20; i++ {
		must(t, s.Actions().Insert(ctx(), action(p, uuid.NewString(), now.Add(time.Duration(10+i)*time.Second))))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				a, err := s.ClaimAction(ctx(), fmt.Sprint("racer", w), time.Now(), time.Now().Add(time.Minute), 0)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if a == nil {
					return
				}
				mu.Lock()
				seen[a.ID]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("racers claimed %d distinct actions, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("action %s claimed %d times", id, n)
		}
	}
}

func testLeaseExpiry(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	a := action(p, "ds", now)
	must(t, s.Actions().Insert(ctx(), a))
	// The claims name their own clock, so a slow machine cannot let the
	// lease run out between them.
	t0 := time.Now()
	got, err := s.ClaimAction(ctx(), "dead-replica", t0, t0.Add(10*time.Second), 0)
	must(t, err)
	if got == nil {
		t.Fatal("nothing claimed")
	}
	if again, _ := s.ClaimAction(ctx(), "other", t0.Add(9*time.Second), t0.Add(time.Minute), 0); again != nil {
		t.Fatal("claimed an action whose lease is still valid")
	}
	later := t0.Add(11 * time.Second)
	again, err := s.ClaimAction(ctx(), "other", later, later.Add(time.Minute), 0)
	must(t, err)
	if again == nil || again.ID != a.ID || again.LeaseOwner != "other" || again.Attempts != 2 {
		t.Fatalf("after lease expiry claimed %+v", again)
	}
	if err := s.RenewLease(ctx(), a.ID, "dead-replica", later); err == nil {
		t.Fatal("the dead replica could still renew its lost lease")
	}
	// Back-off: an action with not_before in the future waits.
	b := action(p, "ds2", now)
	nb := time.Now().Add(time.Hour)
	b.NotBefore = &nb
	must(t, s.Actions().Insert(ctx(), b))
	if c, _ := s.ClaimAction(ctx(), "x", time.Now(), time.Now().Add(time.Minute), 0); c != nil {
		t.Fatalf("claimed an action before its not_before: %v", c.ID)
	}
}

func testCatalog(t *testing.T, open func() store.Store) {
	s := open()
	typ := &model.DatastoreType{ID: uuid.NewString(), Engine: "postgresql", Version: uuid.NewString()[:6], FullVersion: "15.18"}
	must(t, s.DatastoreTypes().Insert(ctx(), typ))
	min := "ram * 2"
	param := &model.ConfigurationParameter{ID: uuid.NewString(), DatastoreTypeID: typ.ID, Name: "work_mem", Type: "int",
		Unit: "kB", MinTemplate: min, Choices: []any{"a", float64(1)}, IsChangeable: true, Factor: 1}
	must(t, s.ConfigurationParameters().Insert(ctx(), param))
	got, err := s.ConfigurationParameters().Get(ctx(), param.ID)
	must(t, err)
	if got.MinTemplate != min || len(got.Choices) != 2 || got.Choices[1] != float64(1) || !got.IsChangeable {
		t.Fatalf("parameter round trip: %+v", got)
	}
	fl := &model.FlavorSpec{ID: uuid.NewString(), Name: "m1", VCPUs: 1, RAM: 1024, Disk: 10, FlSize: "standard",
		DatastoreTypeIDs: []string{typ.ID}, IsPublic: true}
	must(t, s.Flavors().Insert(ctx(), fl))
	gf, err := s.Flavors().Get(ctx(), fl.ID)
	must(t, err)
	if len(gf.DatastoreTypeIDs) != 1 || gf.DatastoreTypeIDs[0] != typ.ID {
		t.Fatalf("flavor round trip: %+v", gf)
	}
	ext := &model.AvailableExtension{ID: uuid.NewString(), Name: "ext-" + uuid.NewString()[:6],
		DatastoreTypeIDs: []string{typ.ID}, DependencyIDs: []string{}}
	must(t, s.AvailableExtensions().Insert(ctx(), ext))
	ge, err := s.AvailableExtensions().Get(ctx(), ext.ID)
	must(t, err)
	if ge.Name != ext.Name || len(ge.DatastoreTypeIDs) != 1 {
		t.Fatalf("extension round trip: %+v", ge)
	}
}

func testLeases(t *testing.T, open func() store.Store) {
	s := open()
	name := "probe:" + uuid.NewString()
	t0 := time.Now()
	ok, err := s.AcquireLease(ctx(), name, "a", t0, t0.Add(time.Second))
	must(t, err)
	if !ok {
		t.Fatal("a free lease was not acquired")
	}
	if ok, _ := s.AcquireLease(ctx(), name, "b", t0, t0.Add(time.Second)); ok {
		t.Fatal("b took a lease a holds")
	}
	if ok, _ := s.AcquireLease(ctx(), name, "a", t0, t0.Add(2*time.Second)); !ok {
		t.Fatal("a could not renew its own lease")
	}
	later := t0.Add(3 * time.Second)
	if ok, _ := s.AcquireLease(ctx(), name, "b", later, later.Add(time.Second)); !ok {
		t.Fatal("b could not take an expired lease")
	}
	must(t, s.ReleaseLease(ctx(), name, "a")) // not a's any more: no effect
	if ok, _ := s.AcquireLease(ctx(), name, "a", later, later.Add(time.Second)); ok {
		t.Fatal("a's stale release freed b's lease")
	}
	must(t, s.ReleaseLease(ctx(), name, "b"))
	if ok, _ := s.AcquireLease(ctx(), name, "a", later, later.Add(time.Second)); !ok {
		t.Fatal("a released lease could not be taken")
	}
	// Racing owners: exactly one wins.
	race := "race:" + uuid.NewString()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ok, err := s.AcquireLease(ctx(), race, fmt.Sprint("owner", i), t0, t0.Add(time.Minute))
			if err != nil {
				t.Errorf("acquire: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d owners won one lease", wins.Load())
	}
}

// countingLeases counts the store writes of a lease holder.
type countingLeases struct {
	store.Leases
	writes atomic.Int32
}

func (c *countingLeases) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	c.writes.Add(1)
	return c.Leases.AcquireLease(ctx, name, owner, now, until)
}

// testLeaseHolder: a holder writes only when less than half of its term is
// left, another owner takes the lease once the recorded term ended or it
// was released, and the old holder then does not believe it still holds it.
func testLeaseHolder(t *testing.T, open func() store.Store) {
	s := open()
	name := "holder:" + uuid.NewString()
	term := 3 * time.Second
	ca, cb := &countingLeases{Leases: s}, &countingLeases{Leases: s}
	a, b := store.NewLease(ca, name, "a", term), store.NewLease(cb, name, "b", term)
	t0 := time.Now()
	hold := func(l *store.Lease, at time.Duration, want bool, why string) {
		t.Helper()
		ok, err := l.Hold(ctx(), t0.Add(at))
		must(t, err)
		if ok != want {
			t.Fatalf("%s: held %v at %s", why, ok, at)
		}
	}
	// Rounds every second: a writes at 0 s, skips 1 s (2 s of 3 left),
	// renews at 2 s (1 s left), skips 3 s.
	for i := 0; i < 4; i++ {
		hold(a, time.Duration(i)*time.Second, true, "the holder")
		hold(b, time.Duration(i)*time.Second, false, "another owner")
	}
	if n := ca.writes.Load(); n != 2 {
		t.Fatalf("the holder wrote %d times in 4 rounds, want 2", n)
	}
	// a stops; its term (recorded at 2 s) ends at 5 s.
	hold(b, 4*time.Second+900*time.Millisecond, false, "another owner before the term ended")
	hold(b, 5*time.Second+100*time.Millisecond, true, "another owner after the term ended")
	hold(a, 5*time.Second+200*time.Millisecond, false, "the old holder after another took over")
	// Resigning, even once the holder's context is done, hands the lease
	// over at once.
	stopped, cancel := context.WithCancel(ctx())
	cancel()
	must(t, b.Resign(stopped))
	hold(a, 5*time.Second+300*time.Millisecond, true, "an owner after the holder released")
	hold(b, 5*time.Second+400*time.Millisecond, false, "the owner that released")
}
