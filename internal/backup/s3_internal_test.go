package backup

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/store"
	"github.com/dbaasd/dbaasd/internal/testutil/s3test"
)

// TestArchiveAndRetentionInObjectStorage runs the manager on a real
// S3-compatible server, without engines: archived files are indexed only
// once uploaded (an upload the server refuses indexes nothing) and stay in
// the local archive; a restore stages the local copy when it is intact
// and downloads it otherwise; retention deletes old backups and archived
// files in the bucket and in the local archive, and a deleted datastore's
// expiry leaves nothing of it in the bucket, not even an object that was
// uploaded but never recorded.
func TestArchiveAndRetentionInObjectStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := s3test.Start(t)
	bucket := filepath.Join(srv.Bucket(t, "backups"), "pre")
	dir := t.TempDir()
	db, ds := storeWithDatastore(t, dir, t0, "s3", model.StatusActive, 1)
	manager := func(cfg objectstore.Config) *Manager {
		s, err := objectstore.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return New(Options{Store: db, Root: Root(dir), Storage: s, Drivers: map[string]engine.Driver{"fake": backupOnly{}},
			Logger: slog.New(slog.DiscardHandler)})
	}
	m := manager(srv.Config("backups", "pre"))

	// The engine archives two files (and one it is still writing).
	archive := m.ArchiveDir(ds.ID)
	if err := os.MkdirAll(archive, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string, at time.Time) {
		t.Helper()
		p := filepath.Join(archive, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("0001", "old log", day(0.5))
	write("0002", "new log", day(2.8))
	write(".0003.tmp", "being written", day(2.9))

	refused := srv.Config("backups", "pre")
	refused.SecretKey = "wrong"
	if err := manager(refused).indexArchiveErr(ctx, ds.ID); err == nil {
		t.Fatal("indexing with refused uploads succeeded")
	}
	if files, _ := db.ListArchiveFiles(ctx, ds.ID); len(files) != 0 {
		t.Fatalf("files indexed that were never uploaded: %+v", files)
	}
	if err := m.indexArchiveErr(ctx, ds.ID); err != nil {
		t.Fatal(err)
	}
	files, err := db.ListArchiveFiles(ctx, ds.ID)
	if err != nil || len(files) != 2 {
		t.Fatalf("indexed %+v, %v; want 0001 and 0002", files, err)
	}
	for _, name := range []string{"0001", "0002"} {
		inBucket, _ := os.ReadFile(filepath.Join(bucket, ds.ID, "wal", name))
		local, _ := os.ReadFile(filepath.Join(archive, name))
		if len(inBucket) == 0 || !bytes.Equal(inBucket, local) {
			t.Errorf("archived file %s: %q in the bucket, %q in the local archive", name, inBucket, local)
		}
	}
	if _, err := os.Stat(filepath.Join(bucket, ds.ID, "wal", ".0003.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file being written was uploaded: %v", err)
	}

	// A restore stages an intact local copy, and downloads a damaged or
	// missing one.
	write("0001", "OLD LOG", day(0.5)) // same size, other bytes
	if err := os.Remove(filepath.Join(archive, "0002")); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(dir, "stage")
	if err := m.stageArchive(ctx, ds.ID, files, stage); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"0001": "old log", "0002": "new log"} {
		if got, _ := os.ReadFile(filepath.Join(stage, name)); string(got) != want {
			t.Errorf("staged %s = %q, want %q", name, got, want)
		}
	}
	write("0001", "old log", day(0.5))
	write("0002", "new log", day(2.8))

	// Two backups in the bucket; retention one day after the second.
	backup := func(id string, started, consistent time.Time) *store.Backup {
		t.Helper()
		b := &store.Backup{ID: id, DatastoreID: ds.ID, ProjectID: ds.ProjectID, Engine: "fake", Kind: store.BackupKindBase,
			Status: store.BackupComplete, StartedAt: started, ConsistentAt: &consistent, FinishedAt: &consistent,
			Location: baseKey(ds.ID, started, id)}
		src := filepath.Join(dir, "base.tar")
		if err := os.WriteFile(src, []byte("base of "+id), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := m.storage.Put(ctx, path.Join(b.Location, "base.tar"), src); err != nil {
			t.Fatal(err)
		}
		b.Files = []store.BackupFile{{Name: "base.tar", Size: int64(len("base of " + id))}}
		if err := db.InsertBackup(ctx, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1 := backup(uuid.NewString(), day(0.4), day(0.45))
	b2 := backup(uuid.NewString(), day(2.5), day(2.6))
	m.SetClock(func() time.Time { return day(3.7) }) // cutoff day(2.7): the second backup serves it
	if err := m.prune(ctx, ds.ID); err != nil {
		t.Fatal(err)
	}
	gone := func(what, p string) {
		t.Helper()
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived retention: %v", what, err)
		}
	}
	there := func(what, p string) {
		t.Helper()
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", what, err)
		}
	}
	gone("the first backup in the bucket", filepath.Join(bucket, filepath.FromSlash(b1.Location)))
	gone("the old archived file in the bucket", filepath.Join(bucket, ds.ID, "wal", "0001"))
	gone("the old archived file in the local archive", filepath.Join(archive, "0001"))
	there("the second backup in the bucket", filepath.Join(bucket, filepath.FromSlash(b2.Location), "base.tar"))
	there("the newer archived file in the bucket", filepath.Join(bucket, ds.ID, "wal", "0002"))
	there("the newer archived file in the local archive", filepath.Join(archive, "0002"))

	// Deleted, then expired: nothing of it stays in the bucket.
	stray := filepath.Join(dir, "stray")
	if err := os.WriteFile(stray, []byte("uploaded, never recorded"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.storage.Put(ctx, archiveKey(ds.ID, "0009"), stray); err != nil {
		t.Fatal(err)
	}
	deleted := day(4)
	ds.Deleted, ds.DeletedAt, ds.Status = true, &deleted, model.StatusDeleted
	if err := db.Datastores().Update(ctx, ds); err != nil {
		t.Fatal(err)
	}
	m.SetClock(func() time.Time { return day(5.1) })
	if err := m.prune(ctx, ds.ID); err != nil {
		t.Fatal(err)
	}
	gone("the expired datastore's objects", filepath.Join(bucket, ds.ID))
	gone("the expired datastore's local archive", archive)
	if b, f := catalogueOf(t, db, ds.ID); len(b) != 0 || len(f) != 0 {
		t.Errorf("the expired datastore still has %d backups and %d archived files", len(b), len(f))
	}
}

func catalogueOf(t *testing.T, db store.Store, id string) ([]store.Backup, []store.ArchiveFile) {
	t.Helper()
	b, err := db.ListBackups(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	f, err := db.ListArchiveFiles(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b, f
}
