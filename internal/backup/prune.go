package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// prunePlan is what retention removes from a datastore's records.
type prunePlan struct {
	backups []store.Backup // complete backups no longer needed
	files   []string       // archived files no longer needed
	all     bool           // everything: a deleted datastore past its retention
}

func (p prunePlan) empty() bool { return len(p.backups) == 0 && len(p.files) == 0 && !p.all }

// planPrune decides what retention removes. Every point in time from
// now − retention on stays restorable: the complete backups consistent
// after that cutoff are kept, with the newest one consistent at or before
// it, and the archived files from that one's start on (a file archived
// before a backup started holds only what the backup already has). A
// deleted datastore loses everything once retention has passed since its
// deletion (or at once when it has no complete backup). Backups still RUNNING are the backup action's business.
// maxRetentionDays keeps a retention that got past the API's bound (an
// older record) from overflowing a time.Duration (about 106751 days).
const maxRetentionDays = 36500

// RetentionOf is how long a datastore's backups are kept.
func RetentionOf(ds *model.Datastore) time.Duration {
	return time.Duration(min(max(ds.BackupRetentionDays, 1), maxRetentionDays)) * 24 * time.Hour
}

func planPrune(ds *model.Datastore, backups []store.Backup, files []store.ArchiveFile, now time.Time) prunePlan {
	retention := RetentionOf(ds)
	restorable := false
	for _, b := range backups {
		restorable = restorable || b.Status == store.BackupComplete
	}
	if ds.Deleted && (!restorable || ds.DeletedAt != nil && now.After(ds.DeletedAt.Add(retention))) {
		p := prunePlan{all: true}
		p.backups = append(p.backups, backups...)
		for _, f := range files {
			p.files = append(p.files, f.Name)
		}
		return p
	}
	var complete []store.Backup
	for _, b := range backups {
		if b.Status == store.BackupComplete && b.ConsistentAt != nil {
			complete = append(complete, b)
		}
	}
	if len(complete) == 0 {
		return prunePlan{} // nothing to restore from: keep the archive for the first backup
	}
	sort.SliceStable(complete, func(i, j int) bool { return complete[i].ConsistentAt.Before(*complete[j].ConsistentAt) })
	cutoff := now.Add(-retention)
	keep := 0
	for i, b := range complete {
		if !b.ConsistentAt.After(cutoff) {
			keep = i
		}
	}
	p := prunePlan{backups: append([]store.Backup{}, complete[:keep]...)}
	from := complete[keep].StartedAt
	for _, f := range files {
		if f.ArchivedAt.Before(from) {
			p.files = append(p.files, f.Name)
		}
	}
	return p
}

// prune applies retention to one datastore: files first, then records
// rows (a crash in between leaves rows whose files are gone, which the
// next prune removes; never files a row points to being restored from —
// the exclusive lock waits for restores reading them). allow_restore
// follows what is left.
func (m *Manager) prune(ctx context.Context, datastoreID string) error {
	ds, err := m.store.Datastores().Get(ctx, datastoreID)
	if err != nil {
		return err
	}
	backups, err := m.store.ListBackups(ctx, datastoreID)
	if err != nil {
		return err
	}
	files, err := m.store.ListArchiveFiles(ctx, datastoreID)
	if err != nil {
		return err
	}
	plan := planPrune(ds, backups, files, m.clock())
	if !plan.empty() {
		unlock, err := m.lock(datastoreID, false, false)
		if errors.Is(err, errBusy) {
			return nil // a restore reads these backups: next time
		}
		if err != nil {
			return err
		}
		err = m.apply(ctx, ds, plan)
		unlock()
		if err != nil {
			return fmt.Errorf("prune backups of %s: %w", datastoreID, err)
		}
	}
	has := false
	for _, b := range backups {
		has = has || b.Status == store.BackupComplete
	}
	if !plan.empty() || has != ds.AllowRestore {
		return m.syncAllowRestore(ctx, datastoreID)
	}
	return nil
}

func (m *Manager) apply(ctx context.Context, ds *model.Datastore, plan prunePlan) error {
	if plan.all {
		// What the engine kept where it prunes by itself goes first: the
		// records stay until it is gone, so an error is tried again.
		if err := m.purgeEngine(ctx, ds); err != nil {
			return err
		}
	}
	for _, name := range plan.files {
		if err := m.storage.DeletePrefix(ctx, archiveKey(ds.ID, name)); err != nil {
			return err
		}
		if m.offMachine() { // and the local copy
			if err := os.Remove(filepath.Join(m.ArchiveDir(ds.ID), name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if err := m.store.DeleteArchiveFiles(ctx, ds.ID, plan.files...); err != nil {
		return err
	}
	m.forget(ds.ID, plan.files, plan.all)
	for _, b := range plan.backups {
		if err := m.storage.DeletePrefix(ctx, b.Location); err != nil {
			return err
		}
		if err := m.store.DeleteBackup(ctx, b.ID); err != nil {
			return err
		}
	}
	if len(plan.backups) > 0 || len(plan.files) > 0 {
		m.log.Info("retention removed backups", "datastore_id", ds.ID, "backups", len(plan.backups), "archived_files", len(plan.files),
			"retention_days", ds.BackupRetentionDays, "deleted", ds.Deleted)
	}
	if plan.all {
		if m.offMachine() {
			// Whatever else of the datastore is in the bucket (an upload
			// interrupted before it was recorded).
			if err := m.storage.DeletePrefix(ctx, ds.ID); err != nil {
				return err
			}
		}
		// The lock file stays until the directory goes: remove what is in it.
		entries, _ := os.ReadDir(m.dir(ds.ID))
		for _, e := range entries {
			if e.Name() != lockFile {
				if err := os.RemoveAll(m.dir(ds.ID) + "/" + e.Name()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// purgeEngine deletes what the engine of a deleted datastore kept of its
// backups where it applies retention itself (engine.RetentionApplier).
func (m *Manager) purgeEngine(ctx context.Context, ds *model.Datastore) error {
	eng, err := m.engineOf(ctx, ds.TypeID)
	if err != nil {
		return err
	}
	ra, ok := m.opts.Drivers[eng].(engine.RetentionApplier)
	if !ok || !ra.AppliesRetention() {
		return nil
	}
	return ra.PurgeBackups(ctx, ds.ID)
}
