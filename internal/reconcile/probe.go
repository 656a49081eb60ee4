package reconcile

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func (r *Reconciler) probeLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.ProbeInterval)
	defer t.Stop()
	for {
		r.ProbeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeAll observes every live datastore that has no work under way and
// records what it sees; a datastore with a node down gets a repair.
func (r *Reconciler) ProbeAll(ctx context.Context) {
	list, err := r.store.Datastores().List(ctx, store.Filter{"deleted": false})
	if err != nil {
		r.log.Warn("probe: list datastores", "error", err)
		return
	}
	pending := 0
	for _, ds := range list {
		if ctx.Err() != nil {
			return
		}
		if !stable(ds.Status) {
			pending++
			continue
		}
		if err := r.probe(ctx, ds.ID); err != nil {
			r.log.Warn("probe", "datastore_id", ds.ID, "error", err)
		}
	}
	if r.metrics != nil {
		n, err := r.store.Actions().Count(ctx, store.Filter{"status": model.ActionPending})
		if err == nil {
			r.metrics.QueueDepth(n)
		}
	}
}

func (r *Reconciler) busy(ctx context.Context, dsID string) (bool, error) {
	r.mu.Lock()
	here := r.inflight[dsID]
	r.mu.Unlock()
	if here {
		return true, nil
	}
	for _, s := range []string{model.ActionPending, model.ActionInProgress} {
		n, err := r.store.Actions().Count(ctx, store.Filter{"datastore_id": dsID, "status": s})
		if err != nil || n > 0 {
			return true, err
		}
	}
	return false, nil
}

func (r *Reconciler) probe(ctx context.Context, dsID string) error {
	if busy, err := r.busy(ctx, dsID); busy || err != nil {
		return err
	}
	st, err := r.load(ctx, r.store, dsID)
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
	var before string
	err = r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, dsID)
		if err != nil {
			return err
		}
		if ds.Generation != st.ds.Generation || !stable(ds.Status) {
			return nil // something changed meanwhile; an action will record it
		}
		before = ds.Status
		insts, err := tx.Instances().List(ctx, store.Filter{"datastore_id": dsID})
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
	if err != nil {
		return err
	}
	// Heal: a node down gets a repair; a disk that just filled gets one
	// too, so the engine is made to refuse writes.
	if newStatus == model.StatusDegraded || newStatus == model.StatusDown ||
		(newStatus == model.StatusDiskFull && before != model.StatusDiskFull) {
		return r.requestRepair(ctx, dsID, "probe")
	}
	return nil
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
	slots, err := tx.Slots().List(ctx, store.Filter{"datastore_id": dsID})
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
