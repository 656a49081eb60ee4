package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/store"
)

// testBackups: the catalogue round-trips backups (with their file lists
// and optional times), keeps them per datastore in start order, updates
// and deletes them, and survives a reopen.
func testBackups(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d1, d2 := datastore(p), datastore(p)
	must(t, s.Datastores().Insert(ctx(), d1))
	must(t, s.Datastores().Insert(ctx(), d2))

	b := &store.Backup{ID: uuid.NewString(), DatastoreID: d1.ID, ProjectID: p, Engine: "postgresql",
		Kind: store.BackupKindBase, Status: store.BackupRunning, Location: d1.ID + "/base/1", StartedAt: now.Add(time.Hour)}
	must(t, s.InsertBackup(ctx(), b))
	if err := s.InsertBackup(ctx(), b); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("inserting a backup twice: %v", err)
	}
	older := &store.Backup{ID: uuid.NewString(), DatastoreID: d1.ID, ProjectID: p, Engine: "postgresql",
		Kind: store.BackupKindBase, Status: store.BackupRunning, Location: d1.ID + "/base/0", StartedAt: now}
	must(t, s.InsertBackup(ctx(), older))
	other := &store.Backup{ID: uuid.NewString(), DatastoreID: d2.ID, ProjectID: p, Engine: "redis",
		Kind: store.BackupKindSnapshot, Status: store.BackupRunning, Location: d2.ID + "/base/0", StartedAt: now}
	must(t, s.InsertBackup(ctx(), other))

	list, err := s.ListBackups(ctx(), d1.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != older.ID || list[1].ID != b.ID || len(list[0].Files) != 0 ||
		list[1].FinishedAt != nil || list[1].ConsistentAt != nil || !list[1].StartedAt.Equal(b.StartedAt) {
		t.Fatalf("list of d1 = %+v", list)
	}
	all, err := s.ListBackups(ctx(), "")
	must(t, err)
	if len(all) < 3 {
		t.Fatalf("list of every datastore has %d backups", len(all))
	}

	fin, cons := now.Add(2*time.Hour), now.Add(90*time.Minute)
	b.Status, b.FinishedAt, b.ConsistentAt, b.Position, b.SizeBytes = store.BackupComplete, &fin, &cons, "start=0/2000028", 42
	b.Files = []store.BackupFile{{Name: "base.tar.lz4", Size: 40, SHA256: "ab"}, {Name: "pg_wal.tar", Size: 2, SHA256: "cd"}}
	must(t, s.UpdateBackup(ctx(), b))
	missing := *b
	missing.ID = uuid.NewString()
	if err := s.UpdateBackup(ctx(), &missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("updating a missing backup: %v", err)
	}

	s2 := open() // a restart keeps everything
	list, err = s2.ListBackups(ctx(), d1.ID)
	must(t, err)
	got := list[1]
	if got.Status != store.BackupComplete || got.FinishedAt == nil || !got.FinishedAt.Equal(fin) || !got.ConsistentAt.Equal(cons) ||
		got.Position != b.Position || got.SizeBytes != 42 || len(got.Files) != 2 || got.Files[1] != b.Files[1] ||
		got.Engine != "postgresql" || got.Kind != store.BackupKindBase || got.ProjectID != p || got.Location != b.Location {
		t.Fatalf("backup after update and reopen = %+v", got)
	}

	must(t, s2.DeleteBackup(ctx(), older.ID))
	must(t, s2.DeleteBackup(ctx(), older.ID)) // again: no error
	list, err = s2.ListBackups(ctx(), d1.ID)
	must(t, err)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("after delete: %+v", list)
	}
}

// testArchiveFiles: archived files are recorded once per datastore and
// name (a second record keeps the first), listed oldest first, and
// deleted by name in batches larger than any parameter limit.
func testArchiveFiles(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	must(t, s.Datastores().Insert(ctx(), d))
	const n = 1200
	for i := n - 1; i >= 0; i-- {
		must(t, s.PutArchiveFile(ctx(), store.ArchiveFile{DatastoreID: d.ID, Name: fmt.Sprintf("seg%05d", i),
			SizeBytes: 16, SHA256: "h", ArchivedAt: now.Add(time.Duration(i) * time.Second)}))
	}
	must(t, s.PutArchiveFile(ctx(), store.ArchiveFile{DatastoreID: d.ID, Name: "seg00000", SizeBytes: 99, SHA256: "other", ArchivedAt: now}))
	list, err := s.ListArchiveFiles(ctx(), d.ID)
	must(t, err)
	if len(list) != n || list[0].Name != "seg00000" || list[0].SizeBytes != 16 || list[0].SHA256 != "h" ||
		!list[0].ArchivedAt.Equal(now) || list[n-1].Name != fmt.Sprintf("seg%05d", n-1) {
		t.Fatalf("archived files: %d, first %+v", len(list), list[0])
	}
	var names []string
	for _, f := range list[:n-1] {
		names = append(names, f.Name)
	}
	must(t, s.DeleteArchiveFiles(ctx(), d.ID, names...))
	list, err = s.ListArchiveFiles(ctx(), d.ID)
	must(t, err)
	if len(list) != 1 || list[0].Name != fmt.Sprintf("seg%05d", n-1) {
		t.Fatalf("after delete: %+v", list)
	}
	if other, err := s.ListArchiveFiles(ctx(), uuid.NewString()); err != nil || len(other) != 0 {
		t.Fatalf("another datastore's files: %v %v", other, err)
	}
}

// testRecoveryWindow: the window spans the oldest complete backup to the
// newest archived file, or to now while the datastore is live; snapshots
// end the window at the newest one.
func testRecoveryWindow(t *testing.T, open func() store.Store) {
	s := open()
	p := project(t, s)
	d := datastore(p)
	must(t, s.Datastores().Insert(ctx(), d))
	if _, ok, err := store.WindowOf(ctx(), s, d, now); err != nil || ok {
		t.Fatalf("window without backups: ok=%v err=%v", ok, err)
	}
	at := func(m int) *time.Time { v := now.Add(time.Duration(m) * time.Minute); return &v }
	for i, m := range []int{10, 70} {
		must(t, s.InsertBackup(ctx(), &store.Backup{ID: uuid.NewString(), DatastoreID: d.ID, ProjectID: p, Engine: "postgresql",
			Kind: store.BackupKindBase, Status: store.BackupComplete, Location: fmt.Sprint(i), StartedAt: *at(m - 5),
			FinishedAt: at(m), ConsistentAt: at(m)}))
	}
	must(t, s.InsertBackup(ctx(), &store.Backup{ID: uuid.NewString(), DatastoreID: d.ID, ProjectID: p, Engine: "postgresql",
		Kind: store.BackupKindBase, Status: store.BackupRunning, Location: "x", StartedAt: *at(1)}))
	must(t, s.PutArchiveFile(ctx(), store.ArchiveFile{DatastoreID: d.ID, Name: "w", SHA256: "h", ArchivedAt: *at(100)}))

	w, ok, err := store.WindowOf(ctx(), s, d, *at(120))
	must(t, err)
	if !ok || !w.From.Equal(*at(10)) || !w.To.Equal(*at(120)) {
		t.Fatalf("live window = %v %v", w, ok)
	}
	d.Deleted = true
	w, _, err = store.WindowOf(ctx(), s, d, *at(120))
	must(t, err)
	if !w.To.Equal(*at(100)) || !w.Contains(*at(10)) || w.Contains(*at(9)) || w.Contains(*at(101)) {
		t.Fatalf("deleted window = %v", w)
	}

	snaps := []store.Backup{{Kind: store.BackupKindSnapshot, Status: store.BackupComplete, ConsistentAt: at(5)},
		{Kind: store.BackupKindSnapshot, Status: store.BackupComplete, ConsistentAt: at(50)}}
	w, ok = store.Window(snaps, []store.ArchiveFile{{ArchivedAt: *at(90)}}, true, *at(120))
	if !ok || !w.From.Equal(*at(5)) || !w.To.Equal(*at(50)) {
		t.Fatalf("snapshot window = %v %v", w, ok)
	}
}
