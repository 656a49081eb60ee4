// Package service holds dbaasd's domain rules: ownership (every record
// belongs to one project and is invisible to others), validation of what a
// project asks for against catalogs, limits and quotas, the state machine of
// datastores and their resources, and the recording of desired state and an
// action in one transaction for the reconciler to carry out.
//
// It never talks to engines and never imports net/http: it returns domain
// values and *Error values that the API layer maps to the wire.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Caller is who makes a request.
type Caller struct {
	ProjectID string
	Admin     bool
	RequestID string
}

// Capabilities say which resources and settings apply to an engine.
type Capabilities struct {
	Users      bool
	Databases  bool
	Extensions bool
	Slots      bool
	Topics     bool
	ACLs       bool
	Pooler     bool
	Password   bool // a cluster-wide password (Redis)
	// Retention: the engine prunes its backups by the datastore's
	// retention, so a change of it is an action (engine.RetentionApplier).
	Retention bool
	// Backups: the engine backs up and restores (engine.Backuper); without
	// it no backup is ever taken, so a restore is refused for good.
	Backups bool
}

// Config is the service's policy.
type Config struct {
	// Capabilities by engine name.
	Capabilities map[string]Capabilities
	// Machine is the host's capacity, for limits and flavor availability.
	Machine catalog.Machine
	// DefaultQuotas apply to projects without an explicit quota.
	DefaultQuotas map[string]int64
	// Region names where datastores run (their availability zone).
	Region string
	// FloatingIPPool is the range floating IPs are taken from (extra
	// addresses the engines also listen on).
	FloatingIPPool netip.Prefix
	// Validators by engine name check requests against the engines
	// themselves before they are accepted (engines without one are
	// checked against their catalog only).
	Validators map[string]engine.Validator
	// DiskValidators by engine name check that a datastore's disks can
	// grow before a bigger disk is accepted (engines without one grow
	// their disks as they are).
	DiskValidators map[string]engine.DiskValidator
	// Hasher computes the keyed hashes metrics tokens are found by.
	Hasher Hasher
}

// Hasher computes keyed hashes of tokens (secret.Hasher).
type Hasher interface {
	Hash(token string) string
}

// Service implements the API's operations over the store.
type Service struct {
	store  store.Store
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	notify func()

	typesMu      sync.Mutex
	engines      map[string]string // datastore type ID → engine
	enginesUntil time.Time
}

// enginesCacheTTL is how long the engine of each datastore type is kept in
// memory: types change only when a dbaasd syncs its catalog at start.
const enginesCacheTTL = 30 * time.Second

// engineOf returns the engine of every datastore type by type ID.
func (s *Service) engineOf(ctx context.Context) (map[string]string, error) {
	s.typesMu.Lock()
	defer s.typesMu.Unlock()
	if s.engines != nil && s.now().Before(s.enginesUntil) {
		return s.engines, nil
	}
	types, err := s.store.DatastoreTypes().List(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(types))
	for _, t := range types {
		m[t.ID] = t.Engine
	}
	s.engines, s.enginesUntil = m, s.now().Add(enginesCacheTTL)
	return m, nil
}

// New returns a Service. notify is called after every committed action so
// the reconciler can start at once (it may be nil).
func New(s store.Store, cfg Config, log *slog.Logger, notify func()) *Service {
	if notify == nil {
		notify = func() {}
	}
	if cfg.DefaultQuotas == nil {
		cfg.DefaultQuotas = DefaultQuotas()
	}
	return &Service{store: s, cfg: cfg, log: log, now: func() time.Time { return time.Now().UTC() }, notify: notify}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the store behind the service.
func (s *Service) Store() store.Store { return s.store }

func newID() string { return uuid.NewString() }

// now truncated to microseconds, the store's precision.
func (s *Service) stamp() time.Time { return s.now().Truncate(time.Microsecond) }

// base returns the common fields of a new record of the caller's project.
func (s *Service) base(c Caller) model.Base {
	t := s.stamp()
	return model.Base{ID: newID(), ProjectID: c.ProjectID, CreatedAt: t, UpdatedAt: t}
}

// checkBodyProject enforces that a project_id sent in a body is the caller's.
func checkBodyProject(c Caller, projectID string) error {
	if projectID != "" && projectID != c.ProjectID && normalizeProject(projectID) != c.ProjectID {
		return Forbidden("project_id", "must be the project of the token (%s)", c.ProjectID)
	}
	return nil
}

// normalizeProject turns a dashed UUID into the 32-hex form.
func normalizeProject(p string) string {
	if u, err := uuid.Parse(p); err == nil {
		b := u.String()
		return b[0:8] + b[9:13] + b[14:18] + b[19:23] + b[24:]
	}
	return p
}

// getter is what owned needs of a repository.
type getter[T any] interface {
	Get(ctx context.Context, id string) (*T, error)
}

// owned loads a record and hides it (404) when it belongs to another project.
func owned[T any](ctx context.Context, r getter[T], c Caller, id, what string, project func(*T) string) (*T, error) {
	v, err := r.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && project(v) != c.ProjectID) {
		return nil, NotFound("%s %s not found", what, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	return v, nil
}

// ownedForUpdate is owned inside a transaction, locking the record.
func ownedForUpdate[T any](ctx context.Context, r store.Repo[T], c Caller, id, what string, project func(*T) string) (*T, error) {
	v, err := r.GetForUpdate(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && project(v) != c.ProjectID) {
		return nil, NotFound("%s %s not found", what, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	return v, nil
}

func dsProject(d *model.Datastore) string { return d.ProjectID }

// scoped returns a list filter confined to the caller's project. A
// project_id filter naming another project matches nothing.
func scoped(c Caller, f store.Filter) store.Filter {
	if f.ProjectID != "" && normalizeProject(f.ProjectID) != c.ProjectID {
		f.Nothing = true
	}
	f.ProjectID = c.ProjectID
	return f
}

// enqueue records an action for the reconciler inside tx.
func (s *Service) enqueue(ctx context.Context, tx store.Tx, c Caller, datastoreID, name, resourceType, resourceID string, payload map[string]any) (*model.Action, error) {
	a := &model.Action{
		Base:        s.base(c),
		DatastoreID: datastoreID, Name: name, ResourceType: resourceType, ResourceID: resourceID,
		Status: model.ActionPending, RequestID: c.RequestID, Payload: payload,
	}
	if err := tx.Actions().Insert(ctx, a); err != nil {
		return nil, fmt.Errorf("record action: %w", err)
	}
	return a, nil
}

// inTx runs fn in a transaction and wakes the reconciler afterwards.
func (s *Service) inTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.store.InTx(ctx, fn); err != nil {
		return err
	}
	s.notify()
	return nil
}

// liveDatastore loads a caller's datastore that is not deleted.
func (s *Service) liveDatastore(ctx context.Context, tx store.Tx, c Caller, id string, lock bool) (*model.Datastore, error) {
	var d *model.Datastore
	var err error
	if lock {
		d, err = ownedForUpdate(ctx, tx.Datastores(), c, id, "datastore", dsProject)
	} else {
		d, err = owned(ctx, tx.Datastores(), c, id, "datastore", dsProject)
	}
	if err != nil {
		return nil, err
	}
	if d.Deleted {
		return nil, NotFound("datastore %s not found", id)
	}
	return d, nil
}
