package reconcile

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// probe observes one datastore unless it has work under way.
func (r *Reconciler) probe(ctx context.Context, dsID string) error {
	if busy, err := r.busy(ctx, dsID); busy || err != nil {
		return err
	}
	return r.observe(ctx, dsID, "")
}

// observe observes one datastore (known to have no work under way) and
// records what changed: a datastore that looks as recorded costs no write.
// With its project ID given, what it is loaded from the store is reused
// while the project's records did not change (see loadObserved).
func (r *Reconciler) observe(ctx context.Context, dsID, projectID string) error {
	st, err := r.loadObserved(ctx, dsID, projectID)
	if err != nil {
		return err
	}
	c := r.cluster(st)
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	obs, err := st.drv.Observe(octx, c)
	cancel()
	if err != nil {
		return err
	}
	var slots []engine.SlotState
	if sm, ok := st.drv.(engine.SlotManager); ok && statusOf(obs) == model.StatusActive {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		slots, _ = sm.Slots(sctx, c)
		cancel()
	}
	newStatus := statusOf(obs)
	before := st.ds.Status
	changed := newStatus != before || observationChanges(st.ds, st.insts, obs)
	if !changed && len(slots) > 0 {
		if changed, err = r.slotsChanged(ctx, dsID, slots); err != nil {
			return err
		}
	}
	r.noteSteady(dsID, !changed && newStatus == model.StatusActive && len(c.Nodes) == 1)
	if changed {
		if before, err = r.recordObservation(ctx, st, obs, slots, newStatus); err != nil {
			return err
		}
	}
	if failed, err := r.maybeFailover(ctx, st, c, obs); failed || err != nil {
		return err
	}
	if r.awaitEngineElection(st, c, obs) {
		return nil
	}
	if repairWanted(newStatus, before) {
		return r.requestRepair(ctx, dsID, "probe")
	}
	return nil
}

// loadObserved loads a datastore as observe needs it: from the store, or,
// when projectID is given, reused from the previous round while the
// project's version (store.Tx.ProjectVersion, which grows with every
// write of its datastores and instances, by any dbaasd) is the same — one
// query instead of reading the datastore, its type and instances again.
// The state is shared between rounds: read only.
func (r *Reconciler) loadObserved(ctx context.Context, dsID, projectID string) (*state, error) {
	if projectID == "" {
		return r.load(ctx, r.store, dsID)
	}
	v, err := r.store.ProjectVersion(ctx, projectID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	c, ok := r.observed[dsID]
	r.mu.Unlock()
	if ok && v != 0 && c.version == v {
		return c.st, nil
	}
	// Read after the version: current at least as of it.
	st, err := r.load(ctx, r.store, dsID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.observed[dsID] = observedState{version: v, st: st}
	r.mu.Unlock()
	return st, nil
}

// recordObservation writes what was observed of a datastore (its status,
// its instances' statuses and roles, disk use, slots), unless it changed
// meanwhile; it returns the status recorded before.
func (r *Reconciler) recordObservation(ctx context.Context, st *state, obs engine.Observation, slots []engine.SlotState, newStatus string) (string, error) {
	dsID := st.ds.ID
	before := st.ds.Status
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, dsID)
		if err != nil {
			return err
		}
		if ds.Generation != st.ds.Generation || !stable(ds.Status) {
			return nil // something changed meanwhile; an action will record it
		}
		before = ds.Status
		insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: dsID})
		if err != nil {
			return err
		}
		if err := applyObservation(ctx, tx, ds, insts, obs); err != nil {
			return err
		}
		if err := recordSlots(ctx, tx, dsID, slots, r.now()); err != nil {
			return err
		}
		ds.Status = newStatus
		if before != newStatus {
			ds.UpdatedAt = r.now()
			r.log.Info("datastore status observed", "datastore_id", dsID, "from", before, "to", newStatus, "nodes", describeObs(obs))
		}
		return tx.Datastores().Update(ctx, ds)
	})
	return before, err
}

// instanceStatus is the status an instance of a datastore in ERROR gets
// from what was observed of its node: ACTIVE or DISK_FULL as observed,
// DOWN otherwise.
func instanceStatus(n engine.NodeState) string {
	if n.Status != engine.NodeActive && n.Status != engine.NodeDiskFull {
		return model.StatusDown
	}
	return n.Status
}

// slotsChanged reports whether the observed use or size of a logical
// replication slot differs from what is recorded.
func (r *Reconciler) slotsChanged(ctx context.Context, dsID string, seen []engine.SlotState) (bool, error) {
	slots, err := r.store.Slots().List(ctx, store.Filter{DatastoreID: dsID})
	if err != nil {
		return false, err
	}
	byName := map[string]engine.SlotState{}
	for _, s := range seen {
		byName[s.Name] = s
	}
	for _, s := range slots {
		if o, ok := byName[s.Name]; ok && (s.InUse != o.InUse || s.Size != o.SizeBytes) {
			return true, nil
		}
	}
	return false, nil
}

// recordSlots writes the observed use and size of logical replication slots.
func recordSlots(ctx context.Context, tx store.Tx, dsID string, seen []engine.SlotState, now time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	byName := map[string]engine.SlotState{}
	for _, s := range seen {
		byName[s.Name] = s
	}
	slots, err := tx.Slots().List(ctx, store.Filter{DatastoreID: dsID})
	if err != nil {
		return err
	}
	for i := range slots {
		s := &slots[i]
		o, ok := byName[s.Name]
		if !ok || (s.InUse == o.InUse && s.Size == o.SizeBytes) {
			continue
		}
		s.InUse, s.Size, s.UpdatedAt = o.InUse, o.SizeBytes, now
		if err := tx.Slots().Update(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
