package reconcile

import (
	"container/heap"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// watch is the prober's plan, derived from a snapshot of the datastores
// (store.DatastoreSnapshot) and kept while no datastore changes: the live
// datastores in a stable status, observed every round, and the datastores
// in ERROR, each with the time it is next looked at (a retry check, a
// look at its instances), in a queue ordered by that time. A round so
// costs the datastores it has something to do with, not every datastore
// stored: thousands in ERROR cost nothing between their looks.
type watch struct {
	planned bool
	version int64
	stable  []*model.Datastore
	failed  map[string]*failedEntry
	queue   failedQueue
}

// failedEntry is a datastore in ERROR in the watch.
type failedEntry struct {
	ds *model.Datastore // in the snapshot the plan was made from: read only
	// stamp is what of the datastore's record the entry was made for: a
	// write of the record (a failed action marks it again, an action
	// changes it) makes it a new entry, looked at again at once.
	stamp recordStamp
	at    time.Time // when it is next looked at
	index int       // in queue
	// recordedDown: its instances were all recorded DOWN (or being
	// deleted) when the entry was made, as one query for many entries
	// told; the first look at one without a directory needs no query.
	recordedDown bool
}

type recordStamp struct {
	generation int64
	updated    time.Time
}

// never is the look time of a datastore in ERROR with nothing due until
// its record changes.
var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// update re-derives the plan from a snapshot of a newer version: the
// stable live datastores, and the datastores in ERROR. It returns the
// entries that are new, or whose record changed (due at once, their
// timers to be reset by the caller), and the IDs of the datastores no
// longer in ERROR (their timers to be forgotten).
func (w *watch) update(snap store.DatastoreSnapshot, now time.Time) (fresh []*failedEntry, gone []string) {
	if w.failed == nil {
		w.failed = map[string]*failedEntry{}
	}
	w.planned, w.version = true, snap.Version
	w.stable = w.stable[:0]
	seen := make(map[string]bool, len(w.failed))
	for i := range snap.Rows {
		ds := &snap.Rows[i]
		if ds.Deleted {
			continue
		}
		if stable(ds.Status) {
			w.stable = append(w.stable, ds)
			continue
		}
		if ds.Status != model.StatusError {
			continue
		}
		seen[ds.ID] = true
		st := recordStamp{ds.Generation, ds.UpdatedAt}
		if e, ok := w.failed[ds.ID]; ok {
			e.ds = ds
			if e.stamp == st {
				continue
			}
			w.remove(e)
		}
		e := &failedEntry{ds: ds, stamp: st, at: now}
		w.failed[ds.ID] = e
		heap.Push(&w.queue, e)
		fresh = append(fresh, e)
	}
	for id, e := range w.failed {
		if !seen[id] {
			w.remove(e)
			gone = append(gone, id)
		}
	}
	return fresh, gone
}

func (w *watch) remove(e *failedEntry) {
	if e.index >= 0 {
		heap.Remove(&w.queue, e.index)
	}
	delete(w.failed, e.ds.ID)
}

// due takes out of the queue the entries due at now; each is to be put
// back with next once looked at.
func (w *watch) due(now time.Time) []*failedEntry {
	var out []*failedEntry
	for len(w.queue) > 0 && !w.queue[0].at.After(now) {
		out = append(out, heap.Pop(&w.queue).(*failedEntry))
	}
	return out
}

// next puts an entry taken by due back, to be looked at again at at.
func (w *watch) next(e *failedEntry, at time.Time) {
	if w.failed[e.ds.ID] != e {
		return // its record changed meanwhile: a newer entry replaced it
	}
	e.at = at
	heap.Push(&w.queue, e)
}

// failedQueue is a min-heap of entries by look time.
type failedQueue []*failedEntry

func (q failedQueue) Len() int           { return len(q) }
func (q failedQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q failedQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *failedQueue) Push(x any) {
	e := x.(*failedEntry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *failedQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}
