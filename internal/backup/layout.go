package backup

import (
	"path"
	"path/filepath"
	"time"
)

// Layout of the backup storage (keys are slash-separated):
//
//	<datastore>/base/<stamp>/<file>   a backup's files
//	<datastore>/wal/<file>            the archive (WAL segments, binary logs)
//	<datastore>/staging/<stamp>/      a backup being taken (scratch)
//	<datastore>/restore/              a restore being prepared (scratch)
//	<datastore>/restored.json         marks a datastore restored
const (
	dirBase     = "base"
	dirArchive  = "wal"
	dirStaging  = "staging"
	dirRestore  = "restore"
	restoreDone = "restored.json"
	lockFile    = ".lock"
)

// Root is the directory of the local backup storage in a data dir.
func Root(dataDir string) string { return filepath.Join(dataDir, "backups") }

// ArchiveDir is where a datastore's engine archives its log, under root
// (engine.Cluster.ArchiveDir).
func ArchiveDir(root, datastoreID string) string {
	return filepath.Join(root, datastoreID, dirArchive)
}

// baseKey is the key prefix of a backup taken at t.
func baseKey(datastoreID string, t time.Time, id string) string {
	return path.Join(datastoreID, dirBase, t.UTC().Format("20060102T150405Z")+"-"+id[:8])
}

// archiveKey is the key of an archived file.
func archiveKey(datastoreID, name string) string { return path.Join(datastoreID, dirArchive, name) }
