package backup

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Run is the scheduler: every Tick it calls Tick, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.Tick)
	defer t.Stop()
	for {
		m.Tick(ctx)
		select {
		case <-ctx.Done():
			// Another dbaasd on the store schedules from its next tick.
			if err := m.lease.Resign(ctx); err != nil {
				m.log.Warn("backup scheduler lease", "error", err)
			}
			return nil
		case <-t.C:
		}
	}
}

// Tick looks at every datastore once: a live one whose engine backs up
// gets a datastore.backup action when it has no complete backup or its
// newest is older than the interval (a failed one is asked for again
// after min(interval, 5 minutes)), and its pulled archive is synced every
// ArchiveSync; then what its engine archived is indexed and retention
// applied (every pruneEvery) — for deleted datastores too, until nothing of
// them is left (one without backups is looked at every pruneEvery only).
// Ticks do not overlap; of several dbaasd sharing a store, the one holding
// the scheduler's lease ticks.
func (m *Manager) Tick(ctx context.Context) {
	m.tickMu.Lock()
	defer m.tickMu.Unlock()
	now := time.Now()
	lead, err := m.lease.Hold(ctx, now)
	if err != nil || !lead {
		if err != nil && ctx.Err() == nil {
			m.log.Warn("backup scheduler lease", "error", err)
		}
		return // another dbaasd on this store schedules
	}
	snap, err := m.store.DatastoreSnapshot(ctx)
	if err != nil {
		m.log.Warn("backup scheduler: list datastores", "error", err)
		return
	}
	all, err := m.store.ListBackups(ctx, "")
	if err != nil {
		m.log.Warn("backup scheduler: list backups", "error", err)
		return
	}
	newest := map[string]time.Time{}
	count := map[string]int{}
	for _, b := range all {
		count[b.DatastoreID]++
		if b.Status == store.BackupComplete && b.StartedAt.After(newest[b.DatastoreID]) {
			newest[b.DatastoreID] = b.StartedAt
		}
	}
	// Datastores that do not serve and have no backup (in ERROR, never
	// created, deleted) have at most an archive to index and prune, which
	// nothing adds to quickly: their archive is looked for every
	// pruneEvery, not every tick, so that thousands of them cost a field
	// check a tick each (by the manager's clock).
	m.mu.Lock()
	at := m.now()
	idleScan := at.Sub(m.idleScanned) >= pruneEvery || at.Before(m.idleScanned)
	if idleScan {
		m.idleScanned = at
	}
	m.mu.Unlock()
	for i := range snap.Rows {
		if ctx.Err() != nil {
			return
		}
		ds := &snap.Rows[i] // shared: read only
		live := !ds.Deleted && backupable(ds.Status)
		idle := !live && count[ds.ID] == 0 && !ds.AllowRestore
		if idle && !idleScan {
			continue
		}
		eng, err := m.engineOf(ctx, ds.TypeID)
		if err != nil {
			continue
		}
		if _, ok := m.backuper(eng); !ok {
			continue
		}
		if live {
			m.schedule(ctx, ds, newest[ds.ID])
			m.syncArchive(ctx, ds, eng)
		}
		if idle {
			// Without backups and archive there is nothing to index
			// or prune (a datastore that never served, or nothing of a
			// deleted one is left).
			if _, err := os.Stat(m.ArchiveDir(ds.ID)); errors.Is(err, os.ErrNotExist) {
				continue
			}
		}
		m.indexArchive(ctx, ds.ID)
		if m.pruneDue(ds.ID) {
			if err := m.prune(ctx, ds.ID); err != nil {
				m.log.Warn("backup retention", "datastore_id", ds.ID, "error", err)
			}
		}
	}
}

// pruneEvery is how often the scheduler applies retention to a datastore
// (by the manager's clock; a backup applies it as it completes).
const pruneEvery = time.Minute

// pruneDue reports whether retention is due for a datastore, and notes it.
func (m *Manager) pruneDue(datastoreID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if last, ok := m.pruned[datastoreID]; ok && now.Sub(last) < pruneEvery && !now.Before(last) {
		return false
	}
	m.pruned[datastoreID] = now
	return true
}

// backupable reports statuses in which a datastore's servers serve.
func backupable(status string) bool {
	return status == model.StatusActive || status == model.StatusDegraded
}

// schedule asks for a backup of a datastore when one is due.
func (m *Manager) schedule(ctx context.Context, ds *model.Datastore, newest time.Time) {
	now := m.clock()
	if !newest.IsZero() && now.Before(newest.Add(m.opts.Interval)) {
		return
	}
	m.mu.Lock()
	last, asked := m.requested[ds.ID]
	m.mu.Unlock()
	if asked && now.Before(last.Add(min(m.opts.Interval, 5*time.Minute))) {
		return
	}
	reason := "first-backup"
	if !newest.IsZero() {
		reason = "scheduled-backup"
	}
	if _, err := m.RequestBackup(ctx, ds.ID, reason); err != nil {
		m.log.Warn("backup scheduler", "datastore_id", ds.ID, "error", err)
	}
}

// syncArchive brings a live datastore's archive up to date where its
// engine does not do it by itself, every ArchiveSync. It runs beside the
// datastore's actions: the engines' archive steps only read and rotate
// logs, and a failure is retried at the next sync.
func (m *Manager) syncArchive(ctx context.Context, ds *model.Datastore, eng string) {
	if _, ok := m.opts.Drivers[eng].(engine.Archiver); !ok {
		return
	}
	m.mu.Lock()
	last := m.synced[ds.ID]
	due := time.Since(last) >= m.opts.ArchiveSync
	if due {
		m.synced[ds.ID] = time.Now()
	}
	m.mu.Unlock()
	if !due {
		return
	}
	c, drv, err := m.opts.Clusters.ClusterOf(ctx, ds.ID)
	if err != nil {
		m.log.Warn("archive sync", "datastore_id", ds.ID, "error", err)
		return
	}
	if _, err := drv.(engine.Archiver).SyncArchive(ctx, c, false); err != nil {
		m.log.Warn("archive sync", "datastore_id", ds.ID, "error", err)
	}
}
