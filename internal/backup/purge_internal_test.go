package backup

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// prunedByEngine is an engine that keeps its backups where it prunes them
// itself (an operator's object store); it records the purges asked of it.
type prunedByEngine struct {
	backupOnly
	applies bool
	fail    error
	purged  []string
}

func (e *prunedByEngine) AppliesRetention() bool { return e.applies }

func (e *prunedByEngine) PurgeBackups(_ context.Context, id string) error {
	e.purged = append(e.purged, id)
	return e.fail
}

// Once a deleted datastore's retention has passed, what its engine kept
// of its backups is purged before dbaasd's records of them go; a purge
// that fails leaves the records for the next prune to try again. An engine
// that does not prune by itself is not asked.
func TestDeletedDatastorePurgesEngineBackups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		applies bool
		fail    error
		purges  int
		kept    bool
	}{
		{"engine prunes", true, nil, 1, false},
		{"the purge fails", true, errors.New("object storage out of reach"), 1, true},
		{"dbaasd prunes", false, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			db, ds := storeWithDatastore(t, dir, t0, "k8s", model.StatusActive, 1)
			deleted := day(1)
			ds.Deleted, ds.DeletedAt, ds.Status = true, &deleted, model.StatusDeleted
			if err := db.Datastores().Update(ctx, ds); err != nil {
				t.Fatal(err)
			}
			consistent := day(0.5)
			b := &store.Backup{ID: uuid.NewString(), DatastoreID: ds.ID, ProjectID: ds.ProjectID, Engine: "fake",
				Kind: store.BackupKindBase, Status: store.BackupComplete, StartedAt: day(0.4), ConsistentAt: &consistent,
				FinishedAt: &consistent, Location: baseKey(ds.ID, day(0.4), uuid.NewString())}
			if err := db.InsertBackup(ctx, b); err != nil {
				t.Fatal(err)
			}
			eng := &prunedByEngine{applies: tc.applies, fail: tc.fail}
			m := New(Options{Store: db, Root: Root(dir), Drivers: map[string]engine.Driver{"fake": eng},
				Logger: slog.New(slog.DiscardHandler)})
			m.SetClock(func() time.Time { return day(2.5) }) // retention (1 day) passed since the deletion
			err := m.prune(ctx, ds.ID)
			if (err != nil) != (tc.fail != nil) {
				t.Fatalf("prune: %v", err)
			}
			if len(eng.purged) != tc.purges || (tc.purges > 0 && eng.purged[0] != ds.ID) {
				t.Errorf("purges asked: %v, want %d of %s", eng.purged, tc.purges, ds.ID)
			}
			left, err := db.ListBackups(ctx, ds.ID)
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(left) == 1; kept != tc.kept {
				t.Errorf("records left: %d; want kept: %v", len(left), tc.kept)
			}
		})
	}
}
