package reconcile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// lookAtFailed does what is due for a datastore in ERROR: a retry check,
// a look at its instances.
func (r *Reconciler) lookAtFailed(ctx context.Context, e *failedEntry, working map[string]bool) {
	ds := e.ds
	if r.retryDue(ds.ID) {
		if err := r.retryFailed(ctx, ds); err != nil {
			r.log.Warn("retry failed datastore", "datastore_id", ds.ID, "error", err)
		}
	}
	if working[ds.ID] || r.inflightHere(ds.ID) || !r.instancesDue(ds.ID) {
		return
	}
	err := r.observeInstances(ctx, ds.ID, e.recordedDown)
	e.recordedDown = false // true of the first look only
	if err != nil {
		r.log.Warn("probe", "datastore_id", ds.ID, "error", err)
	}
}

// nextLook is when a datastore in ERROR is next due: its retry check or
// the next look at its instances, whichever comes first (at once when
// either was left undecided, e.g. while an action of it runs).
func (r *Reconciler) nextLook(dsID string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	retry, look := r.retryAt[dsID], r.lookAt[dsID]
	if retry.Before(look) {
		return retry
	}
	return look
}

// failedDatastores returns the datastores with a failed action of their
// own (resource type datastore): only those can be due for a retry.
func (r *Reconciler) failedDatastores(ctx context.Context) (map[string]bool, error) {
	acts, err := r.store.Actions().List(ctx, store.Filter{ResourceType: "datastore", Status: model.ActionError})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(acts))
	for _, a := range acts {
		out[a.DatastoreID] = true
	}
	return out, nil
}

// instancesRecordedDown returns the datastores whose every instance is
// recorded DOWN or being deleted, counted in three queries over every
// instance.
func (r *Reconciler) instancesRecordedDown(ctx context.Context) (map[string]bool, error) {
	all, err := r.store.Instances().CountBy(ctx, store.Filter{}, "datastore_id")
	if err != nil {
		return nil, err
	}
	settled := map[string]int{}
	for _, s := range []string{model.StatusDown, model.StatusPendingDelete} {
		n, err := r.store.Instances().CountBy(ctx, store.Filter{Status: s}, "datastore_id")
		if err != nil {
			return nil, err
		}
		for id, c := range n {
			settled[id] += c
		}
	}
	out := make(map[string]bool, len(all))
	for id, n := range all {
		if settled[id] == n {
			out[id] = true
		}
	}
	return out, nil
}

// observeInstances records the observed status of a datastore's
// instances while the datastore itself is in ERROR (and waits for a retry
// or a fix): a node that dies or comes back shows in the API. recordedDown
// tells that its instances were all recorded DOWN when its record was
// last planned. Only the
// instances' statuses change; the datastore's status, the roles and
// repairs are left to the actions.
func (r *Reconciler) observeInstances(ctx context.Context, dsID string, recordedDown bool) error {
	if _, err := os.Stat(r.Layout().ClusterDir(dsID)); errors.Is(err, fs.ErrNotExist) {
		// Nothing of it can run: its instances are DOWN, which one
		// query tells when they are already recorded so (none when the
		// plan's count told it already).
		if recordedDown {
			return nil
		}
		insts, err := r.store.Instances().List(ctx, store.Filter{DatastoreID: dsID})
		if err != nil {
			return err
		}
		down := true
		for _, in := range insts {
			down = down && (in.Status == model.StatusDown || in.Status == model.StatusPendingDelete)
		}
		if down {
			return nil
		}
	}
	if busy, err := r.busy(ctx, dsID); busy || err != nil {
		return err
	}
	st, err := r.load(ctx, r.store, dsID)
	if err != nil || st.ds.CreationFinishedAt == nil {
		return err // a datastore never created has nothing to observe
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	obs, err := st.drv.Observe(octx, r.cluster(st))
	cancel()
	if err != nil {
		return err
	}
	byID := map[string]engine.NodeState{}
	for _, n := range obs.Nodes {
		byID[n.ID] = n
	}
	changed := false
	for _, in := range st.insts {
		if n, ok := byID[in.ID]; ok && in.Status != model.StatusPendingDelete && in.Status != instanceStatus(n) {
			changed = true
		}
	}
	if !changed {
		return nil // what is recorded is what runs: no write
	}
	return r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, dsID)
		if err != nil {
			return err
		}
		if ds.Generation != st.ds.Generation || ds.Status != model.StatusError {
			return nil
		}
		insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: dsID})
		if err != nil {
			return err
		}
		for i := range insts {
			in := &insts[i]
			n, ok := byID[in.ID]
			if !ok || in.Status == model.StatusPendingDelete {
				continue
			}
			status := instanceStatus(n)
			if in.Status == status {
				continue
			}
			in.Status = status
			if err := tx.Instances().Update(ctx, in); err != nil {
				return err
			}
		}
		return nil
	})
}

// instancesDue reports whether the instances of a datastore in ERROR are
// to be observed in this round, and if so sets the next time: every
// errorLookEvery (at least the probe interval). A datastore without a
// directory (nothing of it can run) is observed once, and then only
// looked for (a stat every errorLookIdle) until its directory appears.
// Thousands of datastores in ERROR so cost a map lookup a round each.
func (r *Reconciler) instancesDue(dsID string) bool {
	now := r.now()
	r.mu.Lock()
	due := !now.Before(r.lookAt[dsID])
	seen := r.dirless[dsID]
	r.mu.Unlock()
	if !due {
		return false
	}
	_, err := os.Stat(r.Layout().ClusterDir(dsID))
	dirless := errors.Is(err, fs.ErrNotExist)
	every := max(errorLookEvery, r.cfg.ProbeInterval)
	if dirless {
		every = max(errorLookIdle, r.cfg.ProbeInterval)
	}
	r.mu.Lock()
	r.lookAt[dsID] = now.Add(every)
	if dirless {
		r.dirless[dsID] = true
	} else {
		delete(r.dirless, dsID)
	}
	r.mu.Unlock()
	return !dirless || !seen
}

// retryDue reports whether a datastore in ERROR may be looked at again.
func (r *Reconciler) retryDue(dsID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.now().Before(r.retryAt[dsID])
}

func (r *Reconciler) retryNotBefore(dsID string, t time.Time) {
	r.mu.Lock()
	r.retryAt[dsID] = t
	r.mu.Unlock()
}

// retryFailed gives a datastore in ERROR another try once its last action
// failed long enough ago (the back-off doubles with every failure in a
// row, up to an hour), so a cause fixed outside dbaasd (a port freed, a
// binary installed, disk space made) heals without a person.
func (r *Reconciler) retryFailed(ctx context.Context, ds *model.Datastore) error {
	if busy, err := r.busy(ctx, ds.ID); busy || err != nil {
		return err
	}
	// Whatever is decided below, look at this datastore again only after
	// RetryAfter (or when its back-off ends): datastores in ERROR cost
	// nothing between retries.
	r.retryNotBefore(ds.ID, r.now().Add(r.cfg.RetryAfter))
	acts, err := r.store.Actions().List(ctx, store.Filter{DatastoreID: ds.ID, ResourceType: "datastore"})
	if err != nil {
		return err
	}
	failures := 0
	for i := len(acts) - 1; i >= 0 && acts[i].Status == model.ActionError; i-- {
		failures++
	}
	if failures == 0 || acts[len(acts)-1].FinishTime == nil {
		// Its last action did not fail: nothing to retry until another
		// one fails, which marks its record (and the prober's plan
		// looks at it again).
		r.retryNotBefore(ds.ID, never)
		return nil
	}
	last := acts[len(acts)-1]
	backoff := r.cfg.RetryAfter << min(failures-1, 10)
	if backoff > time.Hour {
		backoff = time.Hour
	}
	if due := last.FinishTime.Add(backoff); r.now().Before(due) {
		r.retryNotBefore(ds.ID, due)
		return nil
	}
	name := model.ActDatastoreRepair
	if ds.CreationFinishedAt == nil {
		name = model.ActDatastoreCreate // it never came up: build it again
	}
	now := r.now()
	err = r.store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Datastores().GetForUpdate(ctx, ds.ID)
		if err != nil || cur.Status != model.StatusError {
			return err
		}
		r.log.Info("retrying failed datastore", "datastore_id", ds.ID, "action", name, "failures", failures)
		return tx.Actions().Insert(ctx, &model.Action{
			Base:        model.Base{ID: newID(), ProjectID: ds.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: ds.ID, Name: name, ResourceType: "datastore", ResourceID: ds.ID,
			Status: model.ActionPending, RequestID: "dbaasd-retry",
		})
	})
	if err == nil {
		r.Notify()
	}
	return err
}
