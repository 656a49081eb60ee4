package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// HandleBackup is the controller of datastore.backup actions: it takes a
// base backup of the datastore with its driver into the staging area,
// stores and checksums its files, records it in the store as
// complete, sets allow_restore and applies retention. Leftovers of an
// interrupted attempt (backup rows still RUNNING, staging files) are
// removed first: backup actions of one datastore never run at once.
func (m *Manager) HandleBackup(ctx context.Context, a *model.Action) error {
	ds, err := m.store.Datastores().Get(ctx, a.DatastoreID)
	if err != nil {
		return fmt.Errorf("load datastore %s: %w", a.DatastoreID, err)
	}
	if ds.Deleted || ds.Status == model.StatusPendingDelete {
		return nil // nothing left to back up
	}
	c, drv, err := m.opts.Clusters.ClusterOf(ctx, ds.ID)
	if err != nil {
		return err
	}
	b, ok := drv.(engine.Backuper)
	if !ok {
		return fmt.Errorf("%w: %s datastores have no backups", engine.ErrInvalid, c.Engine)
	}
	if err := m.dropUnfinished(ctx, ds.ID); err != nil {
		return err
	}
	m.progress(ctx, a.ID, 5)

	id := uuid.NewString()
	started := time.Now().UTC().Truncate(time.Microsecond)
	rec := &store.Backup{ID: id, DatastoreID: ds.ID, ProjectID: ds.ProjectID, Engine: c.Engine, Status: store.BackupRunning,
		Location: baseKey(ds.ID, started, id), StartedAt: started}
	if err := m.store.InsertBackup(ctx, rec); err != nil {
		return err
	}
	dir, err := m.datastoreDir(ds.ID)
	if err != nil {
		return err
	}
	staging := filepath.Join(dir, dirStaging, path.Base(rec.Location))
	if err := os.MkdirAll(filepath.Dir(staging), 0o711); err != nil {
		return fmt.Errorf("backup staging: %w", err)
	}
	info, err := b.BaseBackup(ctx, c, staging)
	if err != nil {
		m.discard(ctx, rec, staging)
		return fmt.Errorf("base backup of datastore %s: %w", ds.ID, err)
	}
	m.progress(ctx, a.ID, 70)
	files, size, err := m.storeFiles(ctx, rec.Location, staging)
	if err != nil {
		m.discard(ctx, rec, staging)
		return err
	}
	finished := time.Now().UTC().Truncate(time.Microsecond)
	consistent := info.ConsistentAt.UTC().Truncate(time.Microsecond)
	if info.Kind == store.BackupKindSnapshot {
		// Restore targets are whole seconds: a snapshot serves the first
		// one after it was taken.
		consistent = ceilSecond(consistent)
	}
	rec.Kind, rec.Position, rec.Files, rec.SizeBytes = info.Kind, info.Position, files, size
	rec.Status, rec.FinishedAt, rec.ConsistentAt = store.BackupComplete, &finished, &consistent
	if !info.StartedAt.IsZero() {
		rec.StartedAt = info.StartedAt.UTC().Truncate(time.Microsecond)
	}
	if err := m.store.UpdateBackup(ctx, rec); err != nil {
		return err
	}
	_ = os.RemoveAll(staging)
	if err := m.syncAllowRestore(ctx, ds.ID); err != nil {
		return err
	}
	m.log.Info("backup complete", "datastore_id", ds.ID, "backup_id", id, "kind", rec.Kind, "bytes", size,
		"consistent_at", consistent, "position", rec.Position, "duration_ms", finished.Sub(started).Milliseconds())
	m.progress(ctx, a.ID, 90)
	m.indexArchive(ctx, ds.ID)
	return m.prune(ctx, ds.ID)
}

// storeFiles checksums the files a driver wrote into dir and puts them into
// the storage under prefix.
func (m *Manager) storeFiles(ctx context.Context, prefix, dir string) ([]store.BackupFile, int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("read backup: %w", err)
	}
	var files []store.BackupFile
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // only files directly in dst make up a backup
		}
		p := filepath.Join(dir, e.Name())
		size, sum, err := checksum(p)
		if err != nil {
			return nil, 0, err
		}
		if err := m.storage.Put(ctx, path.Join(prefix, e.Name()), p); err != nil {
			return nil, 0, err
		}
		files = append(files, store.BackupFile{Name: e.Name(), Size: size, SHA256: sum})
		total += size
	}
	if len(files) == 0 {
		return nil, 0, errors.New("the driver wrote no backup files")
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, total, nil
}

// discard removes a backup that did not complete.
func (m *Manager) discard(ctx context.Context, rec *store.Backup, staging string) {
	ctx = context.WithoutCancel(ctx)
	_ = os.RemoveAll(staging)
	if err := m.storage.DeletePrefix(ctx, rec.Location); err != nil {
		m.log.Warn("remove incomplete backup", "backup_id", rec.ID, "error", err)
	}
	if err := m.store.DeleteBackup(ctx, rec.ID); err != nil {
		m.log.Warn("remove incomplete backup", "backup_id", rec.ID, "error", err)
	}
}

// dropUnfinished removes what interrupted backups of a datastore left:
// backup rows still RUNNING with their files, and the staging area.
func (m *Manager) dropUnfinished(ctx context.Context, datastoreID string) error {
	list, err := m.store.ListBackups(ctx, datastoreID)
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].Status == store.BackupRunning {
			m.log.Info("removing an interrupted backup", "datastore_id", datastoreID, "backup_id", list[i].ID)
			m.discard(ctx, &list[i], "")
		}
	}
	if err := os.RemoveAll(filepath.Join(m.dir(datastoreID), dirStaging)); err != nil {
		return fmt.Errorf("backup staging: %w", err)
	}
	return nil
}
