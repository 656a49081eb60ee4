package backup

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// backupOnly is an engine that backs up, as far as the scheduler can
// tell; the ticks of this test never call it.
type backupOnly struct {
	engine.Driver
	engine.Backuper
}

// A datastore that neither serves nor has a backup (in ERROR here) costs
// the scheduler a field check a tick: its archive is looked for every
// pruneEvery, and what its engine archived is then indexed.
func TestTickLooksAtIdleDatastoresEveryPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	db, ds := storeWithDatastore(t, dir, clock, "idle", model.StatusError, 7)
	m := New(Options{Store: db, Root: Root(dir), Drivers: map[string]engine.Driver{"fake": backupOnly{}},
		Logger: slog.New(slog.DiscardHandler)})
	m.SetClock(func() time.Time { return clock })
	indexed := func() int {
		t.Helper()
		files, err := db.ListArchiveFiles(ctx, ds.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(files)
	}

	m.Tick(ctx) // looks (nothing there yet)
	if err := os.MkdirAll(m.ArchiveDir(ds.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.ArchiveDir(ds.ID), "000000010000000000000001"), []byte("wal"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(pruneEvery - time.Second)
	m.Tick(ctx)
	if n := indexed(); n != 0 {
		t.Fatalf("an idle datastore was looked at before pruneEvery passed: %d files indexed", n)
	}
	clock = clock.Add(time.Second)
	m.Tick(ctx)
	if n := indexed(); n != 1 {
		t.Fatalf("after pruneEvery its archive was not indexed: %d files", n)
	}
}

// storeWithDatastore opens a SQLite store in dir holding one datastore of
// the engine "fake" (in a project of its own), created at t0.
func storeWithDatastore(t *testing.T, dir string, t0 time.Time, name, status string, retentionDays int) (*store.DB, *model.Datastore) {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "", dir, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	typ := &model.DatastoreType{ID: uuid.NewString(), Engine: "fake", Version: "1"}
	if err := db.DatastoreTypes().Insert(ctx, typ); err != nil {
		t.Fatal(err)
	}
	project := "p" + uuid.NewString()[:8]
	if err := db.Projects().Insert(ctx, &model.Project{ID: project, Name: "p", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: t0, UpdatedAt: t0},
		Name: name, TypeID: typ.ID, FlavorID: uuid.NewString(), NodeCount: 1, Status: status,
		Enabled: true, Generation: 1, BackupRetentionDays: retentionDays}
	if err := db.Datastores().Insert(ctx, ds); err != nil {
		t.Fatal(err)
	}
	return db, ds
}
