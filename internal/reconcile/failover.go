package reconcile

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// probeDown observes again the datastores whose primary this replica saw
// down (only the replica holding the probe lease sees them) until their
// failover is due; one that cannot fail over then (a replica does not
// answer either) is left to the rounds.
func (r *Reconciler) probeDown(ctx context.Context) {
	now := r.now()
	r.mu.Lock()
	ids := make([]string, 0, len(r.downSince))
	for id, since := range r.downSince {
		if now.Sub(since) <= r.cfg.FailoverAfter+r.cfg.ProbeInterval {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if err := r.probe(ctx, id); err != nil {
			r.log.Warn("probe", "datastore_id", id, "error", err)
		}
	}
}

// maybeFailover moves the MASTER role to the most advanced replica when the
// primary has not answered for FailoverAfter and the driver can promote
// without losing acknowledged writes: every replica must answer (one of
// them acknowledged each commit, and the most advanced has them all).
func (r *Reconciler) maybeFailover(ctx context.Context, st *state, c *engine.Cluster, obs engine.Observation) (bool, error) {
	fo, ok := st.drv.(engine.Failover)
	master := c.Master()
	if !ok || master == nil || len(c.Nodes) < 2 || !fo.FailoverSafe(c) {
		return false, nil
	}
	ch := chooseFailover(c, master, obs)
	if ch.PrimaryUp {
		r.clearDown(st.ds.ID)
		return false, nil
	}
	since := r.markDown(st.ds.ID)
	if ch.Blocker != nil {
		r.log.Warn("primary down but not every replica answers: no failover (it could lose acknowledged writes)",
			"datastore_id", st.ds.ID, "node", ch.Blocker.ID, "status", ch.BlockerStatus)
		return false, nil
	}
	best, bestPos := ch.Best, ch.Position
	if best == nil || r.now().Sub(since) < r.cfg.FailoverAfter {
		return best != nil, nil // wait: it may be a blip
	}
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, st.ds.ID)
		if err != nil {
			return err
		}
		if ds.Generation != st.ds.Generation || !stable(ds.Status) {
			return nil
		}
		insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: ds.ID})
		if err != nil {
			return err
		}
		for i := range insts {
			in := &insts[i]
			switch in.ID {
			case best.ID:
				in.Role, in.RoleName = model.RoleMaster, "master"
			case master.ID:
				in.Role, in.RoleName, in.Status = model.RoleReplica, "replica", model.StatusDown
			default:
				continue
			}
			if err := tx.Instances().Update(ctx, in); err != nil {
				return err
			}
		}
		now := r.now()
		ds.Generation++
		ds.Status, ds.UpdatedAt = model.StatusDegraded, now
		if err := tx.Datastores().Update(ctx, ds); err != nil {
			return err
		}
		r.log.Warn("primary down: failing over", "datastore_id", ds.ID, "old_primary", master.ID, "new_primary", best.ID,
			"position", bestPos, "down_for", now.Sub(since).String())
		return tx.Actions().Insert(ctx, &model.Action{
			Base:        model.Base{ID: newID(), ProjectID: ds.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: ds.ID, Name: model.ActDatastoreFailover, ResourceType: "datastore", ResourceID: ds.ID,
			Status: model.ActionPending, RequestID: "dbaasd-failover",
		})
	})
	if err != nil {
		return true, err
	}
	r.clearDown(st.ds.ID)
	r.Notify()
	return true, nil
}

// awaitEngineElection reports whether a repair must wait because the
// primary is down and the engine is electing a new one itself.
func (r *Reconciler) awaitEngineElection(st *state, c *engine.Cluster, obs engine.Observation) bool {
	sf, ok := st.drv.(engine.SelfFailover)
	master := c.Master()
	if !ok || master == nil {
		return false
	}
	grace := sf.FailoverGrace(c)
	if masterAnswers(obs) {
		r.clearDown(st.ds.ID) // a primary answers (maybe a newly elected one)
		return false
	}
	if grace <= 0 {
		return false
	}
	return r.now().Sub(r.markDown(st.ds.ID)) < grace
}

func (r *Reconciler) markDown(dsID string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.downSince[dsID]; ok {
		return t
	}
	t := r.now()
	r.downSince[dsID] = t
	return t
}

func (r *Reconciler) clearDown(dsID string) {
	r.mu.Lock()
	delete(r.downSince, dsID)
	r.mu.Unlock()
}
