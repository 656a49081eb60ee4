// Package reconcile converges the engines toward what the store records.
// Workers claim actions from the store's queue under a lease, run the
// matching controller (every step idempotent, so a crash at any point is
// repaired by running it again), and record the outcome on the action and
// the resource. A prober observes running clusters and records their real
// state, and asks for a repair when a node is down.
//
// The package never serves HTTP and never decides policy: what may be
// asked is the service's business; how to reach it is the drivers'.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Config tunes the reconciler.
type Config struct {
	// DataDir holds the clusters' directories (DataDir/clusters/<id>).
	DataDir string
	// RunDir holds the clusters' runtime directories (Unix sockets); ""
	// keeps them in the node directories (see layout.Layout).
	RunDir string
	// EngineHost is the address engine servers listen on.
	EngineHost string
	// PortMin and PortMax bound the ports given to engine servers.
	PortMin, PortMax int
	// Workers is how many actions run at once.
	Workers int
	// MaxBackups is how many of them may be backups (datastore.backup),
	// counted over every replica of the store: backups are background
	// work, and a burst of them (the first backups of datastores created
	// one after another) must not hold every worker while a request's
	// action waits. Default: half the workers, at least 1.
	MaxBackups int
	// Lease is how long a claimed action is reserved for a worker.
	Lease time.Duration
	// ProbeInterval is how often running clusters are observed (0 = never).
	ProbeInterval time.Duration
	// Owner names this dbaasd replica in leases.
	Owner string
	// MaxAttempts is how often an action is tried before it fails for good.
	MaxAttempts int
	// Poll is how often the queue is checked when nothing wakes the workers.
	Poll time.Duration
	// ArchiveDir, when set, names the directory where a datastore's engine
	// archives what point-in-time recovery needs (engine.Cluster.ArchiveDir).
	ArchiveDir func(datastoreID string) string
	// FailoverAfter is how long a primary must not answer before a replica
	// is promoted.
	FailoverAfter time.Duration
	// RetryAfter is the first back-off before a datastore in ERROR is tried
	// again (it doubles with each failure in a row, up to an hour).
	RetryAfter time.Duration
	// PortFree tells whether a port of EngineHost may be given to a server
	// (default: nothing on this machine listens on it). A runtime whose
	// servers listen elsewhere (Kubernetes) relies on the store's
	// allocations alone.
	PortFree func(host string, port int) bool
}

func (c *Config) defaults() {
	if c.EngineHost == "" {
		c.EngineHost = "127.0.0.1"
	}
	if c.PortMin == 0 {
		c.PortMin, c.PortMax = 21000, 29999
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.MaxBackups <= 0 {
		c.MaxBackups = max(1, c.Workers/2)
	}
	if c.Lease == 0 {
		c.Lease = 30 * time.Second
	}
	if c.Owner == "" {
		h, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.FailoverAfter == 0 {
		c.FailoverAfter = 2 * time.Second
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Minute
	}
}

// Hooks let other parts of dbaasd take part in the life of a datastore
// (backups, restores) without the reconciler knowing them.
type Hooks interface {
	// BeforeStart runs after a new cluster's directories are allocated and
	// before its servers first start (a restore fills the data here).
	BeforeStart(ctx context.Context, d *model.Datastore, c *engine.Cluster, drv engine.Driver) error
	// AfterDelete runs after a cluster's servers and data are gone.
	AfterDelete(ctx context.Context, d *model.Datastore) error
}

// Reconciler runs actions and probes clusters.
type Reconciler struct {
	store   store.Store
	drivers map[string]engine.Driver
	cfg     Config
	log     *slog.Logger
	hooks   Hooks
	wake    chan struct{}
	now     func() time.Time

	mu        sync.Mutex
	inflight  map[string]int       // datastores with actions running here (backups aside)
	downSince map[string]time.Time // datastores whose primary stopped answering
	retryAt   map[string]time.Time // datastores in ERROR: when to look again
	// lookAt is when the instances of a datastore in ERROR are next
	// observed (see instancesDue).
	lookAt  map[string]time.Time
	dirless map[string]bool // datastores in ERROR seen without a directory
	// probeMu serialises ProbeAll, which owns watch.
	probeMu sync.Mutex
	// probeLease is the probe rounds' lease among replicas sharing the store.
	probeLease *store.Lease
	watch      watch
	observed   map[string]observedState // what observe loaded, by datastore
	steady     map[string]int           // observations in a row that found a datastore steady (see steadySkip)
	round      int                      // probe rounds so far
	// stableStamps are the records of the stable datastores as the last
	// plan saw them.
	stableStamps map[string]recordStamp
	metrics      Metrics
	handlers     map[string]Handler
}

// Handler runs one kind of action (see Handle).
type Handler func(ctx context.Context, a *model.Action) error

// Handle registers the controller of an action name that other parts of
// dbaasd record (backups, restores), before Run. A handler must be
// idempotent: after a crash it runs again from the start.
func (r *Reconciler) Handle(name string, h Handler) { r.handlers[name] = h }

// Metrics receives the reconciler's own measurements (may be nil).
type Metrics interface {
	ActionDone(name, status string, d time.Duration)
	EngineError(engineName string)
	QueueDepth(n int)
}

// New returns a Reconciler.
func New(s store.Store, drivers map[string]engine.Driver, cfg Config, log *slog.Logger) *Reconciler {
	cfg.defaults()
	// The probe lease lasts three rounds.
	return &Reconciler{store: s, probeLease: store.NewLease(s, ProbeLease, cfg.Owner, 3*cfg.ProbeInterval), drivers: drivers, cfg: cfg, log: log, wake: make(chan struct{}, 1),
		now: func() time.Time { return time.Now().UTC() }, inflight: map[string]int{}, downSince: map[string]time.Time{},
		retryAt:  map[string]time.Time{},
		lookAt:   map[string]time.Time{},
		dirless:  map[string]bool{},
		observed: map[string]observedState{},
		steady:   map[string]int{},
		handlers: map[string]Handler{}}
}

// SetHooks installs hooks (before Run).
func (r *Reconciler) SetHooks(h Hooks) { r.hooks = h }

// SetMetrics installs a metrics sink (before Run).
func (r *Reconciler) SetMetrics(m Metrics) { r.metrics = m }

// Notify wakes the workers: an action was recorded.
func (r *Reconciler) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends. It first asks for a repair of every live
// datastore, so that clusters are re-adopted after a restart of dbaasd.
func (r *Reconciler) Run(ctx context.Context) error {
	if err := r.readopt(ctx); err != nil {
		r.log.Warn("re-adoption scan failed", "error", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.pollLoop(ctx)
	}()
	for i := 0; i < r.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	if r.cfg.ProbeInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.probeLoop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (r *Reconciler) work(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := r.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("action queue", "error", err)
		}
		if ran {
			continue
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		}
	}
}

// pollLoop wakes one worker every Poll, for what nothing here announces:
// actions recorded by another replica, and retries whose back-off ended.
// The worker that finds one wakes the next (see RunOnce), so one look a
// Poll serves all the workers.
func (r *Reconciler) pollLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Notify()
		}
	}
}

// RunOnce claims and runs one action; it reports whether it ran one.
func (r *Reconciler) RunOnce(ctx context.Context) (bool, error) {
	now := r.now()
	a, err := r.store.ClaimAction(ctx, r.cfg.Owner, now, now.Add(r.cfg.Lease), r.cfg.MaxBackups)
	if err != nil || a == nil {
		return false, err
	}
	// There may be more work: wake another worker to look. A worker that
	// finds nothing goes back to sleep without passing the wake-up on, so
	// wake-ups travel only as far as there is work.
	r.Notify()
	r.run(ctx, a)
	return true, nil
}

// run executes a claimed action while keeping its lease alive.
func (r *Reconciler) run(ctx context.Context, a *model.Action) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.Name != model.ActDatastoreBackup { // a backup does not hold the probe back
		r.mu.Lock()
		r.inflight[a.DatastoreID]++
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			if r.inflight[a.DatastoreID]--; r.inflight[a.DatastoreID] <= 0 {
				delete(r.inflight, a.DatastoreID)
			}
			r.mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go r.keepLease(actx, cancel, a, done)
	start := time.Now()
	log := r.log.With("action", a.Name, "action_id", a.ID, "datastore_id", a.DatastoreID, "request_id", a.RequestID, "attempt", a.Attempts)
	log.Info("action started")
	err := r.dispatch(actx, a)
	close(done)
	if errors.Is(err, errLeaseLost) || (ctx.Err() != nil && err != nil) {
		// Another replica owns it now, or we are shutting down: leave it.
		log.Warn("action interrupted", "error", err)
		return
	}
	status := model.ActionSuccess
	if err != nil {
		status = r.fail(ctx, a, err, log)
	} else if ferr := r.finish(ctx, a, model.ActionSuccess, ""); ferr != nil {
		log.Error("record action success", "error", ferr)
	}
	if r.metrics != nil {
		r.metrics.ActionDone(a.Name, status, time.Since(start))
	}
	log.Info("action finished", "status", status, "duration_ms", time.Since(start).Milliseconds())
	r.Notify()
}

var errLeaseLost = errors.New("lease lost")

func (r *Reconciler) keepLease(ctx context.Context, cancel context.CancelFunc, a *model.Action, done <-chan struct{}) {
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.store.RenewLease(ctx, a.ID, r.cfg.Owner, r.now().Add(r.cfg.Lease)); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					r.log.Error("action lease lost; stopping work on it", "action_id", a.ID)
					cancel()
					return
				}
				r.log.Warn("renew lease", "action_id", a.ID, "error", err)
			}
		}
	}
}

// fail records a failed attempt: transient errors are retried with
// back-off; invalid requests and exhausted retries end the action in ERROR
// and mark the resource ERROR.
func (r *Reconciler) fail(ctx context.Context, a *model.Action, cause error, log *slog.Logger) string {
	msg := cause.Error()
	if len(msg) > 4000 {
		msg = msg[:4000] + "…"
	}
	final := finalFailure(cause, a.Failures, r.cfg.MaxAttempts)
	if r.metrics != nil {
		r.metrics.EngineError(a.ResourceType)
	}
	if !final {
		backoff := retryBackoff(a.Failures)
		log.Warn("action failed; will retry", "error", msg, "retry_in", backoff)
		err := r.store.InTx(ctx, func(tx store.Tx) error {
			cur, err := tx.Actions().GetForUpdate(ctx, a.ID)
			if err != nil {
				return err
			}
			if cur.LeaseOwner != r.cfg.Owner {
				return errLeaseLost
			}
			nb := r.now().Add(backoff)
			cur.Status, cur.Error, cur.LeaseOwner, cur.LeaseUntil, cur.NotBefore = model.ActionPending, msg, "", nil, &nb
			cur.Failures++
			cur.UpdatedAt = r.now()
			return tx.Actions().Update(ctx, cur)
		})
		if err != nil {
			log.Error("record retry", "error", err)
		}
		return model.ActionPending
	}
	log.Error("action failed", "error", msg)
	rolled, err := r.rollback(ctx, a, msg, log)
	if err != nil {
		log.Error("restore the last configuration that worked", "error", err)
	}
	if rolled {
		msg += " (dbaasd restored the last configuration that worked)"
	}
	if err := r.finish(ctx, a, model.ActionError, msg); err != nil {
		log.Error("record action failure", "error", err)
	}
	if rolled {
		return model.ActionError
	}
	if err := r.markFailed(ctx, a); err != nil {
		log.Error("mark resource failed", "error", err)
	}
	return model.ActionError
}

// errPermanent marks errors that retrying cannot fix.
var errPermanent = errors.New("permanent")

func (r *Reconciler) finish(ctx context.Context, a *model.Action, status, msg string) error {
	return r.store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Actions().GetForUpdate(ctx, a.ID)
		if err != nil {
			return err
		}
		now := r.now()
		cur.Status, cur.Error, cur.FinishTime, cur.UpdatedAt = status, msg, &now, now
		cur.LeaseOwner, cur.LeaseUntil = "", nil
		if status == model.ActionError {
			cur.Failures++
		}
		if status == model.ActionSuccess {
			cur.Progress = 100
		}
		return tx.Actions().Update(ctx, cur)
	})
}

// Progress records how far an action got (0-100).
func (r *Reconciler) progress(ctx context.Context, a *model.Action, pct int) {
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Actions().GetForUpdate(ctx, a.ID)
		if err != nil {
			return err
		}
		cur.Progress, cur.UpdatedAt = pct, r.now()
		return tx.Actions().Update(ctx, cur)
	})
	if err != nil {
		r.log.Warn("record progress", "action_id", a.ID, "error", err)
	}
}
