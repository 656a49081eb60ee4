package backup

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/store"
)

// indexArchive records in the archive index (store.ArchiveFile rows) the
// files the engine archived into a datastore's archive since the last
// look: their size, SHA-256, and the time the archive is complete up to
// with them (the file's modification time: when the engine finished
// writing the log it copied). Files being written
// (hidden temporary names) are left for later. Errors are logged: the
// next look catches up.
func (m *Manager) indexArchive(ctx context.Context, datastoreID string) {
	if err := m.indexArchiveErr(ctx, datastoreID); err != nil {
		m.log.Warn("index archived files", "datastore_id", datastoreID, "error", err)
	}
}

func (m *Manager) indexArchiveErr(ctx context.Context, datastoreID string) error {
	m.catMu.Lock()
	defer m.catMu.Unlock()
	dir := m.ArchiveDir(datastoreID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	known, err := m.knownArchive(ctx, datastoreID)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || known[name] {
			continue
		}
		p := dir + "/" + name
		st, err := os.Stat(p)
		if err != nil {
			continue // removed meanwhile
		}
		size, sum, err := checksum(p)
		if err != nil {
			return err
		}
		if err := m.storage.Put(ctx, archiveKey(datastoreID, name), p); err != nil {
			return err
		}
		f := store.ArchiveFile{DatastoreID: datastoreID, Name: name, SizeBytes: size, SHA256: sum,
			ArchivedAt: st.ModTime().UTC().Truncate(time.Microsecond)}
		if err := m.store.PutArchiveFile(ctx, f); err != nil {
			return err
		}
		known[name] = true
	}
	return nil
}

// knownArchive returns the set of indexed archive names of a datastore
// (loaded from the store once). The caller holds catMu.
func (m *Manager) knownArchive(ctx context.Context, datastoreID string) (map[string]bool, error) {
	k, ok := m.known[datastoreID]
	if ok {
		return k, nil
	}
	files, err := m.store.ListArchiveFiles(ctx, datastoreID)
	if err != nil {
		return nil, err
	}
	k = make(map[string]bool, len(files))
	for _, f := range files {
		k[f.Name] = true
	}
	m.known[datastoreID] = k
	return k, nil
}

// forget drops archive names from the cache (after pruning them).
func (m *Manager) forget(datastoreID string, names []string, all bool) {
	m.catMu.Lock()
	defer m.catMu.Unlock()
	if all {
		delete(m.known, datastoreID)
		return
	}
	if k := m.known[datastoreID]; k != nil {
		for _, n := range names {
			delete(k, n)
		}
	}
}
