package store

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
)

// Backups keeps the catalogue of backups: the base backups (and
// snapshots) of every datastore, the files their engines archived for
// point-in-time recovery, and from both the window a datastore can be
// restored to. Rows outlive their datastore until retention prunes them.
type Backups interface {
	// InsertBackup records a backup; ErrConflict if its ID exists.
	InsertBackup(ctx context.Context, b *Backup) error
	// UpdateBackup overwrites a backup; ErrNotFound if it does not exist.
	UpdateBackup(ctx context.Context, b *Backup) error
	// DeleteBackup removes a backup; removing a missing one is no error.
	DeleteBackup(ctx context.Context, id string) error
	// ListBackups returns a datastore's backups ("" = every datastore's),
	// oldest first.
	ListBackups(ctx context.Context, datastoreID string) ([]Backup, error)
	// PutArchiveFile records an archived file; recording one again keeps
	// the first record.
	PutArchiveFile(ctx context.Context, f ArchiveFile) error
	// ListArchiveFiles returns a datastore's archived files, oldest first.
	ListArchiveFiles(ctx context.Context, datastoreID string) ([]ArchiveFile, error)
	// DeleteArchiveFiles removes archived files of a datastore by name.
	DeleteArchiveFiles(ctx context.Context, datastoreID string, names ...string) error
}

// Backup statuses.
const (
	BackupRunning  = "RUNNING"  // being taken; its files may be incomplete
	BackupComplete = "COMPLETE" // every file stored and checksummed
)

// Kinds of backups (as engine.BackupBase and engine.BackupSnapshot).
const (
	BackupKindBase     = "base"     // archived logs roll it forward
	BackupKindSnapshot = "snapshot" // restores to its own moment only
)

// Backup is one base backup or snapshot of a datastore.
type Backup struct {
	ID          string
	DatastoreID string
	ProjectID   string
	Engine      string
	Kind        string
	Status      string
	// Location is where its files are in the backup storage (a key prefix).
	Location string
	// Position is the engine's record of where the backup sits in its log.
	Position  string
	Files     []BackupFile
	SizeBytes int64
	StartedAt time.Time
	// FinishedAt is set once the backup is complete.
	FinishedAt *time.Time
	// ConsistentAt is the earliest point in time the backup restores to.
	ConsistentAt *time.Time
}

// BackupFile is one file of a backup.
type BackupFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ArchiveFile is one file an engine archived (a WAL segment, a binary log).
type ArchiveFile struct {
	DatastoreID string
	Name        string
	SizeBytes   int64
	SHA256      string
	// ArchivedAt is the time the archive is complete up to once it holds
	// this file.
	ArchivedAt time.Time
}

// RecoveryWindow is the span of time a datastore can be restored to.
type RecoveryWindow struct {
	From, To time.Time
}

// Contains reports whether t lies in the window.
func (w RecoveryWindow) Contains(t time.Time) bool { return !t.Before(w.From) && !t.After(w.To) }

// Window computes a recovery window from a datastore's catalogue: from the
// oldest complete backup's consistent point to the newest point the
// catalogue covers. That is now for a live datastore whose backups are
// rolled forward by archived logs (a restore first archives what its
// engine has not yet), else the newest archived file or backup. ok is
// false when nothing can be restored.
func Window(backups []Backup, files []ArchiveFile, live bool, now time.Time) (w RecoveryWindow, ok bool) {
	replay := false
	for _, b := range backups {
		if b.Status != BackupComplete || b.ConsistentAt == nil {
			continue
		}
		at := *b.ConsistentAt
		if !ok || at.Before(w.From) {
			w.From = at
		}
		if !ok || at.After(w.To) {
			w.To = at
		}
		ok = true
		replay = replay || b.Kind == BackupKindBase
	}
	if !ok || !replay {
		return w, ok
	}
	for _, f := range files {
		if f.ArchivedAt.After(w.To) {
			w.To = f.ArchivedAt
		}
	}
	if live && now.After(w.To) {
		w.To = now
	}
	return w, ok
}

// WindowOf reads a datastore's catalogue and computes its recovery window
// (see Window); a datastore that is not deleted is live.
func WindowOf(ctx context.Context, s Backups, ds *model.Datastore, now time.Time) (RecoveryWindow, bool, error) {
	backups, err := s.ListBackups(ctx, ds.ID)
	if err != nil {
		return RecoveryWindow{}, false, err
	}
	files, err := s.ListArchiveFiles(ctx, ds.ID)
	if err != nil {
		return RecoveryWindow{}, false, err
	}
	w, ok := Window(backups, files, !ds.Deleted, now)
	return w, ok, nil
}
