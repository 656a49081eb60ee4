package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pierrec/lz4/v4"
)

// Kinds of backups, as BackupInfo.Kind.
const (
	// BackupBase is a full copy of a cluster that the archived logs in
	// Cluster.ArchiveDir (PostgreSQL WAL, MySQL binary logs) roll forward
	// to any later point in time.
	BackupBase = "base"
	// BackupSnapshot is a copy of a cluster at one moment, with no log to
	// roll it forward (a Redis RDB file).
	BackupSnapshot = "snapshot"
)

// BackupInfo describes a backup a driver took with BaseBackup. The caller
// keeps it in its catalogue and hands it back to Restore.
type BackupInfo struct {
	Kind string // BackupBase or BackupSnapshot
	// StartedAt is when the backup started: what the cluster committed
	// before it is in the backup or in the archive.
	StartedAt time.Time
	// ConsistentAt is the earliest point in time the backup restores to:
	// the end of a base backup (it is consistent once the log written
	// while it ran is replayed), the moment a snapshot was taken.
	ConsistentAt time.Time
	// Position is the engine's own record of where the backup sits in its
	// log (PostgreSQL: WAL start and end and timeline; MySQL: binary log
	// file, offset and GTID). Only the driver that wrote it reads it.
	Position string
}

// RestoreSource is what Restore builds a new cluster's data from. Every
// file in it was checked against the checksums the catalogue recorded.
type RestoreSource struct {
	// ClusterID is the cluster the backup was taken from.
	ClusterID string
	// BaseDir holds the files BaseBackup wrote, read only.
	BaseDir string
	// Backup is what BaseBackup reported.
	Backup BackupInfo
	// ArchiveDir holds the archived logs to roll forward from, read only:
	// those the source archived since the backup started. "" = none.
	ArchiveDir string
	// Target is the point in time to recover to; nil means everything the
	// archive holds. It is never before Backup.ConsistentAt.
	Target *time.Time
}

// Backuper is implemented by engines that back up and restore clusters.
type Backuper interface {
	// BaseBackup copies the running cluster into dst, a directory that
	// does not exist yet (the driver creates it, owned by the engines' OS
	// user, and writes only regular files directly in it). A leftover of
	// an interrupted call at dst is replaced.
	BaseBackup(ctx context.Context, c *Cluster, dst string) (BackupInfo, error)
	// Restore lays down the data of a new cluster c before its servers
	// first start: the backup, rolled forward through the archive to
	// from.Target where the engine keeps a log. Ensure then adopts the
	// data (and builds replicas from it) instead of starting empty. A
	// Restore that was interrupted is started over by calling it again.
	Restore(ctx context.Context, c *Cluster, from RestoreSource) error
}

// RetentionApplier is implemented by engines whose backup data is pruned
// where it is kept, by the engine itself, from Cluster.BackupRetentionDays
// (an operator pruning its object store; dbaasd still prunes its records
// of those backups by the same rule): a change of the retention is then
// converged like any other desired state.
type RetentionApplier interface {
	// AppliesRetention reports whether the engine prunes its backups by
	// Cluster.BackupRetentionDays.
	AppliesRetention() bool
	// PurgeBackups deletes everything kept of a datastore's backups (base
	// backups and archived log) once the datastore is deleted and its
	// retention has passed: the engine that pruned them no longer runs. It
	// is called again after an error, and then finds less or nothing.
	PurgeBackups(ctx context.Context, datastoreID string) error
}

// Archiver is implemented by engines whose point-in-time recovery replays
// a continuous archive of their log, kept in Cluster.ArchiveDir: what the
// archive holds is complete (no gaps) and its files never change.
type Archiver interface {
	// SyncArchive brings c.ArchiveDir up to date. Without force it does
	// only what the engine does not do on its own schedule (PostgreSQL
	// archives by itself; MySQL's closed binary logs are copied); with
	// force it returns once everything the cluster committed before the
	// call is archived. It returns the point in time the archive is then
	// complete up to (zero when it cannot tell).
	SyncArchive(ctx context.Context, c *Cluster, force bool) (time.Time, error)
}

// ErrTargetNotArchived marks a restore whose target lies beyond what the
// archive holds: the data of that moment is not in the backups.
var ErrTargetNotArchived = errors.New("the archive does not reach the target time")

// Compressed extensions OpenDecompressed understands.
const (
	ExtLZ4 = ".lz4"
)

// NewCompressor returns a writer that compresses what it is given into w
// with LZ4 frames (fast enough not to slow a backup down); Close flushes it
// without closing w.
func NewCompressor(w io.Writer) io.WriteCloser {
	zw := lz4.NewWriter(w)
	_ = zw.Apply(lz4.CompressionLevelOption(lz4.Fast), lz4.ConcurrencyOption(1))
	return zw
}

// Decompress returns a reader of the content of a backup file named name:
// LZ4 frames when name ends in ExtLZ4, the bytes as they are otherwise.
func Decompress(r io.Reader, name string) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ExtLZ4):
		return lz4.NewReader(r), nil
	case strings.HasSuffix(name, ".gz"), strings.HasSuffix(name, ".zst"):
		return nil, fmt.Errorf("%s: %w: compression not supported", name, ErrInvalid)
	}
	return r, nil
}
