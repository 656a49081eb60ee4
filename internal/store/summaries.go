package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/dbaasd/dbaasd/internal/model"
)

// summaryCache keeps the summaries of every datastore (DatastoreSummaries)
// in memory with the version of the datastores table they were read at
// (migration 9). Periodic loops list them every second or so; while no
// datastore changed, a list costs one read of that version instead of a
// read of every row. The version is read before the rows, so rows kept
// under a version are never older than it, on any dbaasd sharing the
// store.
type summaryCache struct {
	mu      sync.Mutex
	version int64
	rows    []model.Datastore
	valid   bool
}

// summaryMatch returns how a cached list applies f, or false when f sets a
// field a summary cannot be filtered by in memory.
func summaryMatch(f Filter) (func(d *model.Datastore) bool, bool) {
	inMemory := Filter{ID: f.ID, ProjectID: f.ProjectID, TypeID: f.TypeID, Status: f.Status, Deleted: f.Deleted,
		Nothing: f.Nothing}
	if f != inMemory {
		return nil, false
	}
	return func(d *model.Datastore) bool {
		return !f.Nothing && (f.ID == "" || d.ID == f.ID) && (f.ProjectID == "" || d.ProjectID == f.ProjectID) &&
			(f.TypeID == "" || d.TypeID == f.TypeID) && (f.Status == "" || d.Status == f.Status) &&
			(f.Deleted == Any || d.Deleted == (f.Deleted == Yes))
	}, true
}

// cachedSummaries is the Reader of DatastoreSummaries outside transactions.
type cachedSummaries struct {
	repo[model.Datastore]
	c *summaryCache
}

// List implements Reader: from memory when the datastores are unchanged
// and the filter is one it can apply, else from the database.
func (r cachedSummaries) List(ctx context.Context, f Filter) ([]model.Datastore, error) {
	matches, ok := summaryMatch(f)
	if !ok {
		return r.repo.List(ctx, f)
	}
	_, rows, err := r.all(ctx)
	if err != nil {
		return nil, err
	}
	// Counted first, so that thousands of summaries are copied once into a
	// slice of the right size.
	n := 0
	for i := range rows {
		if matches(&rows[i]) {
			n++
		}
	}
	out := make([]model.Datastore, 0, n)
	for i := range rows {
		if matches(&rows[i]) {
			out = append(out, rows[i])
		}
	}
	return out, nil
}

// all returns every summary with the version of the datastores table read
// before them, read again only when that version changed. The slice is
// shared: callers copy what they return.
func (r cachedSummaries) all(ctx context.Context) (int64, []model.Datastore, error) {
	var v int64
	if err := r.o.queryRow(ctx, "SELECT version FROM table_versions WHERE name = 'datastores'").Scan(&v); err != nil {
		return 0, nil, fmt.Errorf("version of datastores: %w", err)
	}
	r.c.mu.Lock()
	if r.c.valid && r.c.version == v {
		rows := r.c.rows
		r.c.mu.Unlock()
		return v, rows, nil
	}
	r.c.mu.Unlock()
	rows, err := r.repo.List(ctx, Filter{})
	if err != nil {
		return 0, nil, err
	}
	r.c.mu.Lock()
	if !r.c.valid || v >= r.c.version {
		r.c.version, r.c.rows, r.c.valid = v, rows, true
	}
	r.c.mu.Unlock()
	return v, rows, nil
}

// DatastoreSnapshot is the summary of every datastore (see
// Tx.DatastoreSummaries), deleted ones included, with the version of the
// datastores table it is current for.
type DatastoreSnapshot struct {
	// Version grows in the same transaction as every write of a datastore
	// row, by any writer: while a later snapshot has the same Version, no
	// datastore changed, and what a loop derived from Rows still holds.
	Version int64
	// Rows are the summaries, oldest first. They are shared with other
	// callers: read only.
	Rows []model.Datastore
}

// DatastoreSnapshot implements Store: one read of the datastores table's
// version while no datastore changed, and no copy.
func (d *DB) DatastoreSnapshot(ctx context.Context) (DatastoreSnapshot, error) {
	c := cachedSummaries{repo: repo[model.Datastore]{d.t.dsSummary, &d.ops}, c: d.sums}
	v, rows, err := c.all(ctx)
	if err != nil {
		return DatastoreSnapshot{}, err
	}
	return DatastoreSnapshot{Version: v, Rows: rows}, nil
}
