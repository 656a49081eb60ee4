package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// resourceBackup is the resource type of backup actions: a failed backup
// does not put its datastore in ERROR.
const resourceBackup = "backup"

// Clusters gives the engine view of recorded datastores (the reconciler).
type Clusters interface {
	ClusterOf(ctx context.Context, datastoreID string) (*engine.Cluster, engine.Driver, error)
}

// Options configure a Manager.
type Options struct {
	// Store holds the backup records and archive index, the datastores and the action queue.
	Store store.Store
	// Root is the directory of the local backup storage (Root(dataDir)):
	// with Storage set, it keeps the engines' archives (a cache of what
	// is uploaded), scratch space of backups and restores, and locks.
	Root string
	// Storage keeps the backups and archived files; nil = Local{Dir: Root}.
	Storage Storage
	// Drivers are the engine drivers by engine name.
	Drivers map[string]engine.Driver
	// Clusters builds the engine view of a datastore.
	Clusters Clusters
	// Interval is the time between base backups of a datastore (default 24h).
	Interval time.Duration
	// Tick is how often the scheduler looks at the datastores (default 2s).
	Tick time.Duration
	// ArchiveSync is how often archives the engine does not keep by itself
	// (MySQL binary logs) are brought up to date (default one minute).
	ArchiveSync time.Duration
	// Owner names this dbaasd in the store's leases: of several replicas on
	// one store, the one holding the scheduler's lease runs it (default
	// hostname-pid).
	Owner string
	// Logger receives what the manager does; nil means slog.Default().
	Logger *slog.Logger
	// Notify wakes the reconciler after an action was recorded (may be nil).
	Notify func()
}

// Manager runs backups, archiving, retention and restores.
type Manager struct {
	opts    Options
	store   store.Store
	storage Storage
	log     *slog.Logger

	tickMu sync.Mutex   // one Tick at a time
	lease  *store.Lease // the scheduler's, among dbaasd sharing the store

	catMu sync.Mutex                 // serialises archive indexing; guards known
	known map[string]map[string]bool // datastore ID → indexed archive names

	mu        sync.Mutex
	now       func() time.Time
	engines   map[string]string    // datastore type ID → engine
	pruned    map[string]time.Time // datastore ID → when retention was last applied (manager's clock)
	requested map[string]time.Time // datastore ID → when a backup was last asked for
	synced    map[string]time.Time // datastore ID → when its archive was last synced
	// idleScanned is when Tick last looked at the datastores that neither
	// serve nor have backups.
	idleScanned time.Time
}

// New returns a Manager.
func New(o Options) *Manager {
	if o.Interval <= 0 {
		o.Interval = 24 * time.Hour
	}
	if o.Tick <= 0 {
		o.Tick = 2 * time.Second
	}
	if o.ArchiveSync <= 0 {
		o.ArchiveSync = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Owner == "" {
		h, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if o.Notify == nil {
		o.Notify = func() {}
	}
	if o.Storage == nil {
		o.Storage = Local{Dir: o.Root}
	}
	// The scheduler's lease lasts three ticks.
	return &Manager{opts: o, store: o.Store, lease: store.NewLease(o.Store, "backup:scheduler", o.Owner, 3*o.Tick), storage: o.Storage, log: o.Logger.With("component", "backup"),
		now: func() time.Time { return time.Now().UTC() }, engines: map[string]string{},
		known: map[string]map[string]bool{}, pruned: map[string]time.Time{}, requested: map[string]time.Time{},
		synced: map[string]time.Time{}}
}

// SetClock replaces the clock that decides when backups are due and what
// retention removes (tests).
func (m *Manager) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

func (m *Manager) clock() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now()
}

// ArchiveDir is where a datastore's engine archives its log.
func (m *Manager) ArchiveDir(datastoreID string) string { return ArchiveDir(m.opts.Root, datastoreID) }

// offMachine reports whether the storage is elsewhere than the archive
// directories (object storage): archived files are then uploaded, and the
// local archive is a cache.
func (m *Manager) offMachine() bool { return m.storage.LocalPath(dirArchive) == "" }

// dir is a datastore's directory in the local storage.
func (m *Manager) dir(datastoreID string) string { return filepath.Join(m.opts.Root, datastoreID) }

// datastoreDir creates a datastore's backup directory, or repairs its
// mode: 0711, so that the datastore's OS account reaches its archive
// directory inside it (and lists nothing). Everything that makes a
// directory under it goes through here first: a parent that MkdirAll made
// on the way with a stricter mode would lock the account out of its
// archive.
func (m *Manager) datastoreDir(datastoreID string) (string, error) {
	dir := m.dir(datastoreID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("backup directory: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("backup directory: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("backup directory %s is not a directory", dir)
	}
	if st.Mode().Perm() != 0o711 {
		if err := os.Chmod(dir, 0o711); err != nil {
			return "", fmt.Errorf("backup directory: %w", err)
		}
	}
	return dir, nil
}

// errBusy reports a lock another holder has.
var errBusy = errors.New("busy")

// lock takes a datastore's backup lock (a file lock, so that it also holds
// against other dbaasd processes on this machine): shared while a restore
// reads its backups, exclusive while retention removes them — without
// waiting (errBusy) when wait is false.
func (m *Manager) lock(datastoreID string, shared, wait bool) (func(), error) {
	dir, err := m.datastoreDir(datastoreID)
	if err != nil {
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	if err := flock(f, shared, wait); err != nil {
		_ = f.Close()
		if errors.Is(err, syscallEWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, fmt.Errorf("backup lock: %w", err)
	}
	return func() { _ = f.Close() }, nil
}

// engineOf returns the engine of a datastore type.
func (m *Manager) engineOf(ctx context.Context, typeID string) (string, error) {
	m.mu.Lock()
	e, ok := m.engines[typeID]
	m.mu.Unlock()
	if ok {
		return e, nil
	}
	t, err := m.store.DatastoreTypes().Get(ctx, typeID)
	if err != nil {
		return "", fmt.Errorf("datastore type %s: %w", typeID, err)
	}
	m.mu.Lock()
	m.engines[typeID] = t.Engine
	m.mu.Unlock()
	return t.Engine, nil
}

// backuper returns the driver of an engine as a Backuper.
func (m *Manager) backuper(eng string) (engine.Backuper, bool) {
	b, ok := m.opts.Drivers[eng].(engine.Backuper)
	return b, ok
}

// RequestBackup records a datastore.backup action for a live datastore,
// unless one is already waiting or running; it returns the action's ID
// ("" when none was recorded).
func (m *Manager) RequestBackup(ctx context.Context, datastoreID, reason string) (string, error) {
	id := ""
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, datastoreID)
		if err != nil {
			return err
		}
		if ds.Deleted || ds.Status == model.StatusPendingDelete {
			return nil
		}
		for _, s := range []string{model.ActionPending, model.ActionInProgress} {
			n, err := tx.Actions().Count(ctx, store.Filter{DatastoreID: datastoreID, Name: model.ActDatastoreBackup, Status: s})
			if err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		a := &model.Action{
			Base:        model.Base{ID: uuid.NewString(), ProjectID: ds.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: datastoreID, Name: model.ActDatastoreBackup, ResourceType: resourceBackup, ResourceID: datastoreID,
			Status: model.ActionPending, RequestID: "dbaasd-" + reason,
		}
		if err := tx.Actions().Insert(ctx, a); err != nil {
			return err
		}
		id = a.ID
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("request backup of %s: %w", datastoreID, err)
	}
	if id != "" {
		m.mu.Lock()
		m.requested[datastoreID] = m.now()
		m.mu.Unlock()
		m.opts.Notify()
	}
	return id, nil
}

// progress records how far an action got, never going backwards.
func (m *Manager) progress(ctx context.Context, actionID string, pct int) {
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.Actions().GetForUpdate(ctx, actionID)
		if err != nil || a.Progress >= pct || a.Finished() {
			return err
		}
		a.Progress, a.UpdatedAt = pct, time.Now().UTC().Truncate(time.Microsecond)
		return tx.Actions().Update(ctx, a)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("record progress", "action_id", actionID, "error", err)
	}
}

// createProgress records the progress of a datastore's running create
// action (a restore runs inside it).
func (m *Manager) createProgress(ctx context.Context, datastoreID string, pct int) {
	list, err := m.store.Actions().List(ctx, store.Filter{DatastoreID: datastoreID, Name: model.ActDatastoreCreate, Status: model.ActionInProgress})
	if err != nil {
		m.log.Warn("find create action", "datastore_id", datastoreID, "error", err)
		return
	}
	for _, a := range list {
		m.progress(ctx, a.ID, pct)
	}
}

// syncAllowRestore sets a datastore's allow_restore to whether a complete
// backup of it exists, reading both in one transaction.
func (m *Manager) syncAllowRestore(ctx context.Context, datastoreID string) error {
	return m.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, datastoreID)
		if err != nil {
			return err
		}
		var cat store.Backups = m.store
		if b, ok := tx.(store.Backups); ok {
			cat = b
		}
		list, err := cat.ListBackups(ctx, datastoreID)
		if err != nil {
			return err
		}
		has := false
		for _, b := range list {
			has = has || b.Status == store.BackupComplete
		}
		if ds.AllowRestore == has {
			return nil
		}
		ds.AllowRestore, ds.UpdatedAt = has, time.Now().UTC().Truncate(time.Microsecond)
		return tx.Datastores().Update(ctx, ds)
	})
}
