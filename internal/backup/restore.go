package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// TimeFormat is how times appear in messages (the API's format, UTC).
const TimeFormat = "2006-01-02T15:04:05"

// stageSlack widens the archived files a restore stages, for the
// resolution of file times.
const stageSlack = time.Second

// stageAfterTarget is how many archived files completed after the target
// time a restore stages: the first holds what was written at the target;
// the next lets PostgreSQL find a commit after it without a second pass.
const stageAfterTarget = 2

// restoreRecord is what restored.json keeps about a finished restore.
type restoreRecord struct {
	Source     string     `json:"source_datastore_id"`
	Target     *time.Time `json:"target_time,omitempty"`
	Backup     string     `json:"backup_id"`
	RestoredAt time.Time  `json:"restored_at"`
}

// BeforeStart implements the reconciler's hook: a datastore created with
// restore gets its data from the source's backups before its servers
// first start. The source's archive is brought up to date first when the
// source is live (so any time up to now is restorable); the newest backup
// consistent at or before the target is chosen, its files and the
// archived files after its start are verified against their SHA-256 and
// staged, and the driver restores from them. A finished restore is
// recorded (restored.json) and never repeated; an interrupted one starts
// over. Errors a retry cannot fix (no backup covers the target, damaged
// files, an archive that does not reach the target) are permanent and say
// what to do.
func (m *Manager) BeforeStart(ctx context.Context, ds *model.Datastore, c *engine.Cluster, drv engine.Driver) error {
	if ds.Restore == nil {
		return nil
	}
	done := filepath.Join(m.dir(ds.ID), restoreDone)
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	b, ok := drv.(engine.Backuper)
	if !ok {
		return fmt.Errorf("%w: %s datastores cannot be restored", engine.ErrInvalid, c.Engine)
	}
	began := time.Now()
	srcID, target := ds.Restore.DatastoreID, ds.Restore.TargetTime
	src, err := m.store.Datastores().Get(ctx, srcID)
	if err != nil {
		return fmt.Errorf("restore: source datastore %s: %w", srcID, err)
	}
	m.createProgress(ctx, ds.ID, 2)

	// A new datastore's archive starts empty (an interrupted attempt may
	// have promoted a server that archived already).
	if err := m.resetArchive(ctx, ds.ID, c); err != nil {
		return err
	}
	archivedTo := m.syncSource(ctx, src)
	m.indexArchive(ctx, srcID)

	unlock, err := m.lock(srcID, true, true)
	if err != nil {
		return err
	}
	defer unlock()
	backups, err := m.store.ListBackups(ctx, srcID)
	if err != nil {
		return err
	}
	files, err := m.store.ListArchiveFiles(ctx, srcID)
	if err != nil {
		return err
	}
	base, err := chooseBackup(src, backups, files, target, archivedTo)
	if err != nil {
		return err
	}
	m.createProgress(ctx, ds.ID, 4)
	dir, err := m.datastoreDir(ds.ID)
	if err != nil {
		return err
	}
	stage := filepath.Join(dir, dirRestore)
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("restore staging: %w", err)
	}
	defer func() { _ = os.RemoveAll(stage) }()
	baseDir, err := m.stageBase(ctx, base, filepath.Join(stage, dirBase))
	if err != nil {
		return err
	}
	archive := ""
	if base.Kind == store.BackupKindBase {
		archive = filepath.Join(stage, dirArchive)
		if err := m.stageArchive(ctx, srcID, archiveNeeded(files, base.StartedAt.Add(-stageSlack), target), archive); err != nil {
			return err
		}
	}
	m.createProgress(ctx, ds.ID, 8)
	m.log.Info("restoring datastore", "datastore_id", ds.ID, "source", srcID, "backup_id", base.ID, "target", target,
		"prepared_ms", time.Since(began).Milliseconds())
	began = time.Now()
	from := engine.RestoreSource{ClusterID: srcID, BaseDir: baseDir, ArchiveDir: archive, Target: target,
		Backup: engine.BackupInfo{Kind: base.Kind, StartedAt: base.StartedAt, ConsistentAt: *base.ConsistentAt, Position: base.Position}}
	if err := b.Restore(ctx, c, from); err != nil {
		if errors.Is(err, engine.ErrTargetNotArchived) && !errors.Is(err, engine.ErrInvalid) {
			err = fmt.Errorf("%w: %w", engine.ErrInvalid, err)
		}
		return fmt.Errorf("restore from datastore %s (backup of %s): %w", srcID, base.ConsistentAt.Format(TimeFormat), err)
	}
	rec, _ := json.MarshalIndent(restoreRecord{Source: srcID, Target: target, Backup: base.ID, RestoredAt: time.Now().UTC()}, "", "  ")
	if err := os.WriteFile(done, append(rec, '\n'), 0o600); err != nil {
		return fmt.Errorf("record restore: %w", err)
	}
	m.createProgress(ctx, ds.ID, 15)
	m.log.Info("datastore restored", "datastore_id", ds.ID, "source", srcID, "duration_ms", time.Since(began).Milliseconds())
	return nil
}

// syncSource asks a live source's engine to archive everything committed
// so far, so that restoring it to any time up to now works. It returns
// the time the archive is then complete up to (zero when the source is
// deleted, has no archive or could not archive: a restore then works from
// what was archived before).
func (m *Manager) syncSource(ctx context.Context, src *model.Datastore) time.Time {
	if src.Deleted {
		return time.Time{}
	}
	c, drv, err := m.opts.Clusters.ClusterOf(ctx, src.ID)
	if err != nil {
		m.log.Warn("restore: cannot archive the source's latest changes", "source_datastore_id", src.ID, "error", err)
		return time.Time{}
	}
	a, ok := drv.(engine.Archiver)
	if !ok {
		return time.Time{}
	}
	t, err := a.SyncArchive(ctx, c, true)
	if err != nil {
		m.log.Warn("restore: cannot archive the source's latest changes; restoring from what is archived", "source_datastore_id", src.ID, "error", err)
		return time.Time{}
	}
	return t
}

// chooseBackup picks the backup to restore target from: the newest
// complete one consistent at or before it (the newest of all for the
// latest state), checking that the archive reaches the target.
func chooseBackup(src *model.Datastore, backups []store.Backup, files []store.ArchiveFile, target *time.Time, archivedTo time.Time) (store.Backup, error) {
	var complete []store.Backup
	for _, b := range backups {
		if b.Status == store.BackupComplete && b.ConsistentAt != nil {
			complete = append(complete, b)
		}
	}
	sort.SliceStable(complete, func(i, j int) bool { return complete[i].ConsistentAt.Before(*complete[j].ConsistentAt) })
	w, ok := store.Window(complete, files, false, time.Time{})
	if !ok {
		return store.Backup{}, fmt.Errorf("%w: datastore %s has no complete backup to restore from", engine.ErrInvalid, src.ID)
	}
	if archivedTo.After(w.To) && complete[len(complete)-1].Kind == store.BackupKindBase {
		w.To = archivedTo
	}
	if target == nil {
		return complete[len(complete)-1], nil
	}
	var pick *store.Backup
	for i := range complete {
		if !complete[i].ConsistentAt.After(*target) {
			pick = &complete[i]
		}
	}
	outside := pick == nil || (pick.Kind == store.BackupKindBase && target.After(w.To))
	if outside {
		return store.Backup{}, fmt.Errorf("%w: restore.target_time %s is outside what the backups of datastore %s cover: choose a time between %s and %s (UTC)",
			engine.ErrInvalid, target.UTC().Format(TimeFormat), src.ID, ceilSecond(w.From).Format(TimeFormat), w.To.UTC().Truncate(time.Second).Format(TimeFormat))
	}
	return *pick, nil
}

// ceilSecond rounds up to a whole second (the API's precision).
func ceilSecond(t time.Time) time.Time {
	t = t.UTC()
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// stageBase returns a local directory holding a backup's files, each
// verified against the recorded checksums (downloaded into dir when the storage is
// not local).
func (m *Manager) stageBase(ctx context.Context, b store.Backup, dir string) (string, error) {
	what := fmt.Sprintf("backup %s of datastore %s (taken %s)", b.ID, b.DatastoreID, b.ConsistentAt.Format(TimeFormat))
	local := m.storage.LocalPath(b.Location)
	if local == "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		for _, f := range b.Files {
			if err := m.download(ctx, path.Join(b.Location, f.Name), filepath.Join(dir, f.Name)); err != nil {
				return "", fmt.Errorf("%s: %w", what, err)
			}
		}
		local = dir
	}
	for _, f := range b.Files {
		if err := verify(what, filepath.Join(local, f.Name), f.Size, f.SHA256); err != nil {
			return "", damaged(err)
		}
	}
	return local, nil
}

// archiveNeeded selects the archived files a restore to target needs
// after a backup started at since: those completed from then on, up to
// the target and stageAfterTarget more (all of them for the latest state).
// A file completed before the backup started holds only what the backup
// has; files are archived in order. PostgreSQL's timeline history files
// always go along.
func archiveNeeded(files []store.ArchiveFile, since time.Time, target *time.Time) []store.ArchiveFile {
	var out []store.ArchiveFile
	after := 0
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".history") {
			out = append(out, f) // timeline histories (PostgreSQL) are tiny and may be asked for
			continue
		}
		if f.ArchivedAt.Before(since) {
			continue
		}
		if target != nil && f.ArchivedAt.After(*target) {
			if after == stageAfterTarget {
				continue
			}
			after++
		}
		out = append(out, f)
	}
	return out
}

// stageArchive links (or downloads) archived files into dir, each
// verified against the recorded checksums. With object storage, a copy
// still in the local archive that matches its checksum is used as it is;
// any other is downloaded.
func (m *Manager) stageArchive(ctx context.Context, datastoreID string, files []store.ArchiveFile, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore staging: %w", err)
	}
	for _, f := range files {
		what := fmt.Sprintf("archived file %s of datastore %s", f.Name, datastoreID)
		dst := filepath.Join(dir, f.Name)
		key := archiveKey(datastoreID, f.Name)
		src := m.storage.LocalPath(key)
		if src == "" {
			src = filepath.Join(m.ArchiveDir(datastoreID), f.Name)
			if err := linkOrCopy(src, dst); err == nil && verify(what, dst, f.SizeBytes, f.SHA256) == nil {
				continue
			}
			_ = os.Remove(dst)
			if err := m.download(ctx, key, dst); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		} else if err := linkOrCopy(src, dst); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := verify(what, dst, f.SizeBytes, f.SHA256); err != nil {
			return damaged(err)
		}
	}
	return nil
}

// linkOrCopy makes dst a hard link of src, or a copy where it cannot be.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err != nil {
		return copyFile(src, dst)
	}
	return nil
}

// damaged makes a checksum mismatch permanent (retrying cannot repair
// it), with what to do about it.
func damaged(err error) error {
	var d *errDamaged
	if errors.As(err, &d) {
		return fmt.Errorf("%w: %w; restore to a time another backup serves, or from another datastore", engine.ErrInvalid, err)
	}
	return err
}

// download copies an object of the storage into a local file.
func (m *Manager) download(ctx context.Context, key, dst string) error {
	r, err := m.storage.Open(ctx, key)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(r); err != nil {
		_ = f.Close() // the copy's error is the one to report
		return err
	}
	return f.Close()
}

// resetArchive empties a new datastore's archive and its index.
func (m *Manager) resetArchive(ctx context.Context, datastoreID string, c *engine.Cluster) error {
	files, err := m.store.ListArchiveFiles(ctx, datastoreID)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name)
	}
	if err := m.store.DeleteArchiveFiles(ctx, datastoreID, names...); err != nil {
		return err
	}
	m.forget(datastoreID, nil, true)
	if m.offMachine() {
		if err := m.storage.DeletePrefix(ctx, path.Join(datastoreID, dirArchive)); err != nil {
			return fmt.Errorf("reset archive: %w", err)
		}
	}
	dir := m.ArchiveDir(datastoreID)
	if c.ArchiveDir != "" {
		dir = c.ArchiveDir
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("reset archive: %w", err)
		}
	}
	return nil
}

// AfterDelete implements the reconciler's hook: the backups of a deleted
// datastore stay for its retention period (counted from its deletion,
// which the reconciler records as deleted_at); the last files its engine
// archived while stopping are indexed now.
func (m *Manager) AfterDelete(ctx context.Context, d *model.Datastore) error {
	m.indexArchive(ctx, d.ID)
	ds, err := m.store.Datastores().Get(ctx, d.ID)
	if err != nil {
		m.log.Warn("after delete", "datastore_id", d.ID, "error", err)
		return nil
	}
	if ds.DeletedAt != nil {
		m.log.Info("datastore deleted; its backups are kept for its retention period", "datastore_id", ds.ID,
			"until", ds.DeletedAt.Add(RetentionOf(ds)).Format(time.RFC3339))
	}
	return nil
}
