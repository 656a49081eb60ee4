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

// observedState is what observe loaded of a datastore, with the version
// of its project it is current for.
type observedState struct {
	version int64
	st      *state
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

// instanceStatus is the status an instance of a datastore in ERROR gets
// from what was observed of its node: ACTIVE or DISK_FULL as observed,
// DOWN otherwise.
func instanceStatus(n engine.NodeState) string {
	if n.Status != engine.NodeActive && n.Status != engine.NodeDiskFull {
		return model.StatusDown
	}
	return n.Status
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

const (
	// errorLookEvery is how often the instances of a datastore in ERROR
	// are observed.
	errorLookEvery = 5 * time.Second
	// errorLookIdle is how often a datastore in ERROR without a
	// directory is looked for one.
	errorLookIdle = 10 * time.Minute
)

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
