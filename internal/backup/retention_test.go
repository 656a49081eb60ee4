package backup_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestRetention: with a clock one retention period after the second base
// backup, the first one and the WAL archived before the second started are
// removed (catalogue and files), the window starts at the second backup
// (earlier targets are refused naming it), and points inside the window —
// its very start and a later time — still restore exactly. A deleted
// datastore loses everything once retention has passed since its
// deletion, and stops being restorable.
func TestRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	ctx := context.Background()
	e := at.Start(t, at.Options{Reconcile: true})
	src, r := pgFixture(t, e, "pg-retention")
	if u := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+src+"/backups",
		map[string]any{"backups": map[string]any{"backup_retention_days": 1}}); u.Status != http.StatusOK {
		t.Fatalf("set retention: %d %s", u.Status, u.Body)
	}
	waitAllowRestore(t, e, src)
	c := pgConn(t, r, "app", "Secret-pass-1", "appdb")
	pgExec(t, c, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
	// The second backup starts in a later second than the first one's
	// consistent point, so a second past the first is outside the window
	// once retention removed it.
	nextSecond()
	backupNow(t, e, src)
	nextSecond()
	pgExec(t, c, "INSERT INTO t VALUES (2)")
	later := nextSecond()
	pgExec(t, c, "INSERT INTO t VALUES (3)")
	e.D.Backups.Tick(ctx)

	backups, files := catalogue(t, e, src)
	if len(backups) != 2 || backups[0].Status != store.BackupComplete || backups[1].Status != store.BackupComplete {
		t.Fatalf("backups before retention: %+v", backups)
	}
	b1, b2 := backups[0], backups[1]
	var old []store.ArchiveFile
	for _, f := range files {
		if f.ArchivedAt.Before(b2.StartedAt) {
			old = append(old, f)
		}
	}
	if len(old) == 0 {
		t.Fatalf("no WAL archived before the second backup: %+v", files)
	}

	e.D.Backups.SetClock(func() time.Time { return b2.ConsistentAt.Add(24*time.Hour + time.Second) })
	e.D.Backups.Tick(ctx)
	backups, files = catalogue(t, e, src)
	for _, b := range backups {
		if b.ID == b1.ID {
			t.Errorf("the first backup survived retention")
		}
	}
	if _, err := os.Stat(filepath.Join(e.DataDir, "backups", filepath.FromSlash(b1.Location))); !os.IsNotExist(err) {
		t.Errorf("the first backup's files survived retention: %v", err)
	}
	kept := map[string]bool{}
	for _, f := range files {
		kept[f.Name] = true
	}
	for _, f := range old {
		if kept[f.Name] {
			t.Errorf("WAL %s archived before the kept backup survived retention", f.Name)
		}
		if _, err := os.Stat(filepath.Join(e.D.Backups.ArchiveDir(src), f.Name)); !os.IsNotExist(err) {
			t.Errorf("WAL file %s survived retention: %v", f.Name, err)
		}
	}

	// The window now starts with the second backup.
	start := b2.ConsistentAt.UTC().Truncate(time.Second).Add(time.Second)
	before := b1.ConsistentAt.Add(time.Second)
	resp := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", restoreBody(e, "postgresql", "pg-too-old", 1, src, &before))
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("target before the window: %d %s", resp.Status, resp.Body)
	}
	mustContain(t, "out-of-window error", resp.Str("error.message"), "restore.target_time: must be between "+apiTime(start)+" and ")

	for _, tc := range []struct {
		at   time.Time
		want string
	}{{start, "[1]"}, {later, "[1 2]"}} {
		restored := restore(t, e, "postgresql", "pg-window-"+tc.at.Format("150405"), 1, src, &tc.at)
		rc := pgConn(t, restored, "app", "Secret-pass-1", "appdb")
		if got := pgInts(t, rc, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != tc.want {
			t.Errorf("restored to %s: %v, want %s", apiTime(tc.at), got, tc.want)
		}
	}

	// A deleted datastore's backups go once retention has passed.
	if d := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+src, nil); d.Status >= 300 {
		t.Fatalf("delete: %d %s", d.Status, d.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+src, wait)
	ds, err := e.D.Store.Datastores().Get(ctx, src)
	if err != nil || ds.DeletedAt == nil {
		t.Fatalf("deleted datastore: %+v %v", ds, err)
	}
	e.D.Backups.SetClock(func() time.Time { return ds.DeletedAt.Add(24*time.Hour - time.Minute) })
	e.D.Backups.Tick(ctx)
	if b, _ := catalogue(t, e, src); len(b) == 0 {
		t.Fatal("a deleted datastore lost its backups before its retention passed")
	}
	e.D.Backups.SetClock(func() time.Time { return ds.DeletedAt.Add(24*time.Hour + time.Second) })
	e.D.Backups.Tick(ctx)
	if b, f := catalogue(t, e, src); len(b) != 0 || len(f) != 0 {
		t.Errorf("after retention a deleted datastore still has %d backups and %d archived files", len(b), len(f))
	}
	if _, err := os.Stat(e.D.Backups.ArchiveDir(src)); !os.IsNotExist(err) {
		t.Errorf("its archive survived: %v", err)
	}
	if ds, _ := e.D.Store.Datastores().Get(ctx, src); ds.AllowRestore {
		t.Error("allow_restore is still true")
	}
	resp = e.Do(at.TokenA, http.MethodPost, "/v1/datastores", restoreBody(e, "postgresql", "pg-gone", 1, src, nil))
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("restore after retention: %d %s", resp.Status, resp.Body)
	}
	mustContain(t, "no-backup error", resp.Str("error.message"), "has no backup to restore from")
}
