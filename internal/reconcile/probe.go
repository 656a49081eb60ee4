package reconcile

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// probeLoop runs ProbeAll every ProbeInterval until ctx ends, and hands
// the probe lease over when it does.
func (r *Reconciler) probeLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.ProbeInterval)
	defer t.Stop()
	// Between rounds, datastores whose primary was seen down are observed
	// four times as often, so a failover starts as soon as FailoverAfter
	// has passed rather than at the next round after it.
	fast := time.NewTicker(max(r.cfg.ProbeInterval/4, 10*time.Millisecond))
	defer fast.Stop()
	r.ProbeAll(ctx)
	for {
		select {
		case <-ctx.Done():
			// Another replica probes from its next round.
			if err := r.probeLease.Resign(ctx); err != nil {
				r.log.Warn("probe lease", "error", err)
			}
			return
		case <-t.C:
			r.ProbeAll(ctx)
		case <-fast.C:
			r.probeDown(ctx)
		}
	}
}

// ProbeLease names the lease of the replica that probes (one of several
// dbaasd sharing a store probes at a time; another takes over when it
// stops renewing the lease).
const ProbeLease = "reconcile:probe"

// ProbeAll observes every live datastore that has no work under way, when
// this replica holds the probe lease, and records what it sees: a
// datastore with a node down gets a repair, one whose primary is down gets
// a failover, one in ERROR gets a retry after a back-off. What to look at
// is planned from the datastores' snapshot only when a datastore changed
// (see watch): datastores in ERROR cost nothing between their looks.
func (r *Reconciler) ProbeAll(ctx context.Context) {
	r.probeMu.Lock()
	defer r.probeMu.Unlock()
	now := r.now()
	lead, err := r.probeLease.Hold(ctx, now)
	if err != nil || !lead {
		return // another replica probes
	}
	snap, err := r.store.DatastoreSnapshot(ctx)
	if err != nil {
		r.log.Warn("probe: list datastores", "error", err)
		return
	}
	if !r.watch.planned || snap.Version != r.watch.version {
		if err := r.plan(ctx, snap); err != nil {
			r.log.Warn("probe: plan", "error", err)
			return
		}
	}
	// One look at the action queue serves the whole round.
	working, err := r.datastoresAtWork(ctx)
	if err != nil {
		r.log.Warn("probe: list actions", "error", err)
		return
	}
	r.round++
	for _, ds := range r.watch.stable {
		if ctx.Err() != nil {
			return
		}
		if working[ds.ID] || r.inflightHere(ds.ID) || r.steadySkip(ds) {
			continue
		}
		if err := r.observe(ctx, ds.ID, ds.ProjectID); err != nil {
			r.log.Warn("probe", "datastore_id", ds.ID, "error", err)
		}
	}
	for _, e := range r.watch.due(r.now()) {
		if ctx.Err() == nil {
			r.lookAtFailed(ctx, e, working)
		}
		r.watch.next(e, r.nextLook(e.ds.ID))
	}
	if r.metrics != nil {
		n, err := r.store.Actions().Count(ctx, store.Filter{Status: model.ActionPending})
		if err == nil {
			r.metrics.QueueDepth(n)
		}
	}
}

const (
	// steadyAfter is how many observations in a row must find a
	// single-node datastore ACTIVE and as recorded before it counts as
	// steady.
	steadyAfter = 3
	// steadyEvery: a steady datastore is observed every steadyEvery
	// rounds instead of every round.
	steadyEvery = 3
)

// noteSteady records whether an observation of a datastore found it
// steady: single-node, ACTIVE and as recorded.
func (r *Reconciler) noteSteady(dsID string, steady bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !steady {
		delete(r.steady, dsID)
		return
	}
	if r.steady[dsID] < steadyAfter {
		r.steady[dsID]++
	}
}

// steadySkip reports whether a datastore is left out of this round: a
// single-node datastore found ACTIVE and as recorded steadyAfter times in
// a row is observed every steadyEvery rounds (each in a round of its
// own, so that the work spreads over the rounds), until an observation
// finds anything else. Datastores of several nodes are observed every
// round, so that a primary that stops answering is failed over as soon
// as FailoverAfter allows; so is every datastore not recorded ACTIVE, or
// whose record changed (the plan is made again then, and forgets it).
func (r *Reconciler) steadySkip(ds *model.Datastore) bool {
	if ds.NodeCount != 1 || ds.Status != model.StatusActive {
		return false
	}
	r.mu.Lock()
	n := r.steady[ds.ID]
	r.mu.Unlock()
	if n < steadyAfter {
		return false
	}
	return (r.round+int(idHash(ds.ID)))%steadyEvery != 0
}

// idHash spreads datastore IDs over the rounds.
func idHash(id string) uint8 {
	var h uint8
	for i := 0; i < len(id); i++ {
		h = h*31 + id[i]
	}
	return h
}

// bulkFresh is how many datastores newly in ERROR a plan must have before
// their first look is prepared with a few queries over all of them rather
// than several queries each (after a start of dbaasd, every one is new).
const bulkFresh = 32

// plan re-derives the prober's watch from a snapshot of a newer version.
// The timers of datastores whose record changed start again: their retry
// check and a look at their instances are due at once.
func (r *Reconciler) plan(ctx context.Context, snap store.DatastoreSnapshot) error {
	var (
		failed   map[string]bool
		down     map[string]bool
		prepared bool
	)
	// The queries run before the watch changes, so that an error leaves
	// the plan as it was (to be made again next round).
	if n := countFresh(&r.watch, snap); n >= bulkFresh {
		var err error
		if failed, err = r.failedDatastores(ctx); err != nil {
			return err
		}
		if down, err = r.instancesRecordedDown(ctx); err != nil {
			return err
		}
		prepared = true
	}
	fresh, gone := r.watch.update(snap, r.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	// A datastore whose record changed (an API call, an action) is
	// observed every round again until it is found steady again; what is
	// kept of datastores no longer live and stable is forgotten.
	stamps := make(map[string]recordStamp, len(r.watch.stable))
	for _, ds := range r.watch.stable {
		st := recordStamp{ds.Generation, ds.UpdatedAt}
		if old, ok := r.stableStamps[ds.ID]; !ok || old != st {
			delete(r.steady, ds.ID)
		}
		stamps[ds.ID] = st
	}
	r.stableStamps = stamps
	for id := range r.steady {
		if _, ok := stamps[id]; !ok {
			delete(r.steady, id)
		}
	}
	for id := range r.observed {
		if _, ok := stamps[id]; !ok {
			delete(r.observed, id)
		}
	}
	for _, id := range gone {
		delete(r.retryAt, id)
		delete(r.lookAt, id)
		delete(r.dirless, id)
	}
	for _, e := range fresh {
		id := e.ds.ID
		delete(r.retryAt, id)
		delete(r.lookAt, id)
		delete(r.dirless, id)
		if prepared {
			if !failed[id] {
				r.retryAt[id] = never // no failed action to retry: not until its record changes
			}
			e.recordedDown = down[id]
		}
	}
	return nil
}

// countFresh counts the datastores in ERROR of a snapshot that the watch
// has no entry of for their current record.
func countFresh(w *watch, snap store.DatastoreSnapshot) int {
	n := 0
	for i := range snap.Rows {
		ds := &snap.Rows[i]
		if ds.Deleted || ds.Status != model.StatusError {
			continue
		}
		if e, ok := w.failed[ds.ID]; !ok || e.stamp != (recordStamp{ds.Generation, ds.UpdatedAt}) {
			n++
		}
	}
	return n
}

// inflightHere reports whether this replica runs an action of the
// datastore (backups aside).
func (r *Reconciler) inflightHere(dsID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight[dsID] > 0
}

// datastoresAtWork returns the datastores with an action pending or in
// progress, backups aside: a backup runs beside the probe, so that a
// primary that dies during one is noticed, and failed over, without
// waiting for the backup to fail.
func (r *Reconciler) datastoresAtWork(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range []string{model.ActionPending, model.ActionInProgress} {
		acts, err := r.store.Actions().List(ctx, store.Filter{Status: s})
		if err != nil {
			return nil, err
		}
		for _, a := range acts {
			if a.Name != model.ActDatastoreBackup {
				out[a.DatastoreID] = true
			}
		}
	}
	return out, nil
}

func (r *Reconciler) busy(ctx context.Context, dsID string) (bool, error) {
	if r.inflightHere(dsID) {
		return true, nil
	}
	for _, s := range []string{model.ActionPending, model.ActionInProgress} {
		byName, err := r.store.Actions().CountBy(ctx, store.Filter{DatastoreID: dsID, Status: s}, "name")
		if err != nil {
			return true, err
		}
		delete(byName, model.ActDatastoreBackup)
		if len(byName) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// observedState is what observe loaded of a datastore, with the version
// of its project it is current for.
type observedState struct {
	version int64
	st      *state
}

const (
	// errorLookEvery is how often the instances of a datastore in ERROR
	// are observed.
	errorLookEvery = 5 * time.Second
	// errorLookIdle is how often a datastore in ERROR without a
	// directory is looked for one.
	errorLookIdle = 10 * time.Minute
)
