package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func (r *Reconciler) dispatch(ctx context.Context, a *model.Action) error {
	switch a.Name {
	case model.ActDatastoreCreate:
		return r.converge(ctx, a, true, false)
	case model.ActDatastoreUpdate, model.ActDatastoreResize, model.ActDatastoreFailover:
		return r.converge(ctx, a, false, false)
	case model.ActDatastoreRepair:
		return r.converge(ctx, a, false, true)
	case model.ActDatastoreDelete:
		return r.deleteDatastore(ctx, a)
	}
	if ok, err := r.runObjectAction(ctx, a); ok {
		return err
	}
	if h, ok := r.handlers[a.Name]; ok {
		return h(ctx, a)
	}
	return fmt.Errorf("unknown action %q: %w", a.Name, errPermanent)
}

// converge makes a datastore's servers match what is recorded: it
// allocates addresses, lets hooks prepare new clusters (restores), ensures
// the servers, removes nodes being scaled away, re-creates objects when
// repairing, and records what it then observes.
func (r *Reconciler) converge(ctx context.Context, a *model.Action, create, repair bool) error {
	ports, err := r.allocate(ctx, a.DatastoreID)
	if err != nil {
		return err
	}
	st, err := r.load(ctx, r.store, a.DatastoreID)
	if err != nil {
		return err
	}
	if st.ds.Deleted || st.ds.Status == model.StatusPendingDelete {
		return nil // a later delete action takes care of it
	}
	gen := st.ds.Generation
	c := r.cluster(st)
	for i := range c.Nodes {
		c.Nodes[i].Ports = ports[c.Nodes[i].ID]
	}
	// The clusters' parent is dbaasd's: others may pass, not list. Each
	// cluster's directory is its OS account's, made by the driver.
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o711); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if create && r.hooks != nil {
		if err := r.hooks.BeforeStart(ctx, st.ds, c, st.drv); err != nil {
			return err
		}
	}
	r.progress(ctx, a, 20)
	if ps, ok := st.drv.(engine.PasswordSetter); ok && !create && c.Password != "" {
		// Servers that run with an older password take the new one live.
		if err := ps.SetPassword(ctx, c, c.Password); err != nil && !repair {
			return fmt.Errorf("set password: %w", err)
		}
	}
	if err := st.drv.Ensure(ctx, c); err != nil {
		return fmt.Errorf("ensure %s cluster: %w", st.typ.Engine, err)
	}
	r.progress(ctx, a, 70)
	if repair {
		if err := r.ensureObjects(ctx, st, c); err != nil {
			return err
		}
	}
	obs, err := r.waitObserved(ctx, st.drv, c)
	if err != nil {
		return err
	}
	healed := 0
	err = r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, st.ds.ID)
		if err != nil {
			return err
		}
		insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: ds.ID})
		if err != nil {
			return err
		}
		var gone []string
		for i := range insts {
			in := &insts[i]
			if in.Status == model.StatusPendingDelete {
				if err := tx.Instances().Delete(ctx, in.ID); err != nil {
					return err
				}
				gone = append(gone, in.ID)
			}
		}
		if len(gone) > 0 {
			if err := tx.ReleasePorts(ctx, ds.ID, gone...); err != nil {
				return err
			}
		}
		if err := applyObservation(ctx, tx, ds, insts, obs); err != nil {
			return err
		}
		if ds.Generation == gen && ds.Status != model.StatusPendingDelete {
			ds.ObservedGeneration = gen
			ds.Status = statusOf(obs)
			if err := recordApplied(ctx, tx, a.ID, ds); err != nil {
				return err
			}
			// Healed: objects whose last action failed (while the
			// datastore was down) are tried again.
			if repair && ds.Status != model.StatusDown {
				if healed, err = r.retryFailedObjects(ctx, tx, ds.ID); err != nil {
					return err
				}
			}
		}
		now := r.now()
		if ds.CreationFinishedAt == nil {
			ds.CreationFinishedAt = &now
		}
		ds.UpdatedAt = now
		return tx.Datastores().Update(ctx, ds)
	})
	if err != nil {
		return err
	}
	if healed > 0 {
		r.log.Info("retrying objects whose last action failed", "datastore_id", st.ds.ID, "objects", healed)
		r.Notify()
	}
	return nil
}

// waitObserved waits (briefly) until the driver sees every node up.
func (r *Reconciler) waitObserved(ctx context.Context, drv engine.Driver, c *engine.Cluster) (engine.Observation, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		obs, err := drv.Observe(ctx, c)
		if err == nil && statusOf(obs) == model.StatusActive || err == nil && statusOf(obs) == model.StatusDiskFull {
			return obs, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("cluster not healthy after ensure: %s", describeObs(obs))
			}
			return obs, err
		}
		select {
		case <-ctx.Done():
			return obs, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describeObs(o engine.Observation) string {
	s := ""
	for _, n := range o.Nodes {
		s += fmt.Sprintf("[%s %s %s %s] ", n.ID[:min(8, len(n.ID))], n.Role, n.Status, n.Detail)
	}
	for _, p := range o.Processes {
		if !p.Up {
			s += fmt.Sprintf("[%s of %s down: %s] ", p.Name, p.NodeID[:min(8, len(p.NodeID))], p.Detail)
		}
	}
	return s
}

// applyObservation records node states, roles and disk use.
func applyObservation(ctx context.Context, tx store.Tx, ds *model.Datastore, insts []model.Instance, o engine.Observation) error {
	for _, i := range observedUpdates(insts, o) {
		if err := tx.Instances().Update(ctx, &insts[i]); err != nil {
			return err
		}
	}
	if o.DiskUsedBytes > 0 {
		ds.DiskUsed = o.DiskUsedBytes
	}
	return nil
}

// observationChanges reports whether recording an observation would
// change a datastore's instances or disk use (its status aside).
func observationChanges(ds *model.Datastore, insts []model.Instance, o engine.Observation) bool {
	if o.DiskUsedBytes > 0 && o.DiskUsedBytes != ds.DiskUsed {
		return true
	}
	return len(observedUpdates(slices.Clone(insts), o)) > 0
}

// observedUpdates makes the recorded instances say what was observed of
// their nodes (status and role) and returns the indexes of those changed.
func observedUpdates(insts []model.Instance, o engine.Observation) []int {
	var changed []int
	byID := map[string]engine.NodeState{}
	for _, n := range o.Nodes {
		byID[n.ID] = n
	}
	for i := range insts {
		in := &insts[i]
		n, ok := byID[in.ID]
		if !ok || in.Status == model.StatusPendingDelete {
			continue
		}
		status := n.Status
		if status != engine.NodeActive && status != engine.NodeDiskFull {
			status = model.StatusDown
		}
		role := n.Role
		if role == "" || role == engine.RoleUnknown {
			role = in.Role
		}
		if in.Status == status && in.Role == role {
			continue
		}
		in.Status, in.Role, in.RoleName = status, role, strings.ToLower(role)
		changed = append(changed, i)
	}
	// When the engine elected a primary itself (Redis Sentinel), the other
	// nodes recorded as primary are replicas now: roles follow what is
	// observed, so the master address points at the node taking writes.
	var observedMaster string
	masters := 0
	for _, n := range o.Nodes {
		if n.Role == engine.RoleMaster && (n.Status == engine.NodeActive || n.Status == engine.NodeDiskFull) {
			observedMaster = n.ID
			masters++
		}
	}
	if masters == 1 {
		for i := range insts {
			in := &insts[i]
			if in.ID != observedMaster && in.Role == model.RoleMaster && in.Status != model.StatusPendingDelete {
				in.Role, in.RoleName = model.RoleReplica, "replica"
				if !slices.Contains(changed, i) {
					changed = append(changed, i)
				}
			}
		}
	}
	return changed
}

// deleteDatastore stops a datastore's servers, removes their data and its
// records (keeping the datastore's own record, listed as deleted).
func (r *Reconciler) deleteDatastore(ctx context.Context, a *model.Action) error {
	st, err := r.load(ctx, r.store, a.DatastoreID)
	if err != nil {
		return err
	}
	if !st.ds.Deleted {
		if err := st.drv.Destroy(ctx, r.cluster(st)); err != nil {
			return fmt.Errorf("destroy %s cluster: %w", st.typ.Engine, err)
		}
	}
	err = r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, a.DatastoreID)
		if err != nil {
			return err
		}
		if err := deleteChildren(ctx, tx, ds.ID); err != nil {
			return err
		}
		now := r.now()
		ds.Deleted, ds.DeletedAt, ds.Status, ds.UpdatedAt = true, &now, model.StatusDeleted, now
		ds.Pooler, ds.PoolerPort = nil, 0
		return tx.Datastores().Update(ctx, ds)
	})
	if err != nil {
		return err
	}
	if r.hooks != nil {
		return r.hooks.AfterDelete(ctx, st.ds)
	}
	return nil
}

// deleteChildren removes every record that lives inside a datastore.
func deleteChildren(ctx context.Context, tx store.Tx, dsID string) error {
	for i := len(objectKinds) - 1; i >= 0; i-- {
		if err := objectKinds[i].forgetAll(ctx, tx, dsID); err != nil {
			return err
		}
	}
	err := deleteAll(ctx, tx.Instances(), store.Filter{DatastoreID: dsID}, func(v *model.Instance) string { return v.ID })
	if err != nil {
		return err
	}
	return tx.ReleasePorts(ctx, dsID)
}

func deleteAll[T any](ctx context.Context, r store.Repo[T], f store.Filter, id func(*T) string) error {
	list, err := r.List(ctx, f)
	if err != nil {
		return err
	}
	for i := range list {
		if err := r.Delete(ctx, id(&list[i])); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// markFailed sets the resource of a failed action to ERROR.
func (r *Reconciler) markFailed(ctx context.Context, a *model.Action) error {
	return r.store.InTx(ctx, func(tx store.Tx) error {
		switch a.ResourceType {
		case "datastore":
			ds, err := tx.Datastores().GetForUpdate(ctx, a.DatastoreID)
			if err != nil {
				return err
			}
			ds.Status, ds.UpdatedAt = model.StatusError, r.now()
			return tx.Datastores().Update(ctx, ds)
		}
		if k, ok := kindByResource[a.ResourceType]; ok {
			return k.setStatus(ctx, tx, a.ResourceID, model.StatusError, r.now())
		}
		return nil
	})
}

// readopt asks for a repair of every live datastore whose state is stable,
// so that after a restart of dbaasd every cluster is checked: stopped
// servers are started and missing objects re-created.
func (r *Reconciler) readopt(ctx context.Context) error {
	list, err := r.store.DatastoreSummaries().List(ctx, store.Filter{Deleted: store.No})
	if err != nil {
		return err
	}
	for _, ds := range list {
		if !stable(ds.Status) {
			continue
		}
		if err := r.requestRepair(ctx, ds.ID, "startup"); err != nil {
			return err
		}
	}
	return nil
}

func stable(status string) bool {
	switch status {
	case model.StatusActive, model.StatusDegraded, model.StatusDown, model.StatusDiskFull:
		return true
	}
	return false
}

// requestRepair records a repair action unless the datastore already has
// unfinished work (which converges it anyway).
func (r *Reconciler) requestRepair(ctx context.Context, dsID, reason string) error {
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, dsID)
		if err != nil {
			return err
		}
		for _, s := range []string{model.ActionPending, model.ActionInProgress} {
			n, err := tx.Actions().Count(ctx, store.Filter{DatastoreID: dsID, Status: s})
			if err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		now := r.now()
		return tx.Actions().Insert(ctx, &model.Action{
			Base:        model.Base{ID: newID(), ProjectID: ds.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: dsID, Name: model.ActDatastoreRepair, ResourceType: "datastore", ResourceID: dsID,
			Status: model.ActionPending, RequestID: "dbaasd-" + reason,
		})
	})
	if err == nil {
		r.Notify()
	}
	return err
}

// DestroyAll stops and removes the servers of every live datastore (their
// records stay). It is for tests and for taking a machine out of service.
func (r *Reconciler) DestroyAll(ctx context.Context) error {
	list, err := r.store.DatastoreSummaries().List(ctx, store.Filter{Deleted: store.No})
	if err != nil {
		return err
	}
	var errs []error
	for _, ds := range list {
		st, err := r.load(ctx, r.store, ds.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := st.drv.Destroy(ctx, r.cluster(st)); err != nil {
			errs = append(errs, fmt.Errorf("destroy %s: %w", ds.ID, err))
		}
	}
	return errors.Join(errs...)
}
