package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func newID() string { return uuid.NewString() }

// objectKind carries out the actions on one kind of object inside a
// datastore (users, databases, grants, …) and re-creates its objects in a
// repair. Every kind is described once, in objectKinds; one generic path
// (kindOf) loads the record, finds the engine's capability, calls it
// idempotently and records the result.
type objectKind interface {
	names() model.ObjectKind
	// ensure makes the object of record id exist in the engine as recorded
	// and marks it ACTIVE.
	ensure(ctx context.Context, r *Reconciler, id string) error
	// drop removes the object of record id from the engine, then the record
	// and what went with it.
	drop(ctx context.Context, r *Reconciler, id string) error
	// repair ensures every live object of the datastore and returns the
	// steps that mark ACTIVE those it created while still PENDING_CREATE.
	repair(ctx context.Context, r *Reconciler, st *state, c *engine.Cluster) ([]func(store.Tx) error, error)
	// setStatus sets the status of record id, if it still exists.
	setStatus(ctx context.Context, tx store.Tx, id, status string, now time.Time) error
	// forgetAll removes the records of every object of a datastore.
	forgetAll(ctx context.Context, tx store.Tx, dsID string) error
}

// kindOf describes one kind of object: T is its record, M the engine
// capability that carries it out.
type kindOf[T any, P interface {
	*T
	model.Objecter
}, M any] struct {
	kind model.ObjectKind
	what string // the capability, in errors: "users"
	repo func(store.Tx) store.Repo[T]
	// in makes the object exist in the engine as recorded (idempotent).
	in func(ctx context.Context, r *Reconciler, m M, c *engine.Cluster, v *T) error
	// out removes it from the engine (idempotent).
	out func(ctx context.Context, r *Reconciler, m M, c *engine.Cluster, v *T) error
	// afterAction, if set, runs after an action ensured the object.
	afterAction func(ctx context.Context, r *Reconciler, m M, c *engine.Cluster, v *T) error
	// forget, if set, removes in tx the records of what went with the
	// object in the engine when it was dropped.
	forget func(ctx context.Context, tx store.Tx, v *T) error
}

// objectKinds lists every kind, in dependency order: repairs ensure them in
// this order, records of a deleted datastore go in the reverse order.
var objectKinds = []objectKind{
	&kindOf[model.User, *model.User, engine.UserManager]{
		kind: model.KindUser, what: "users", repo: store.Tx.Users,
		in: func(ctx context.Context, _ *Reconciler, m engine.UserManager, c *engine.Cluster, v *model.User) error {
			return m.EnsureUser(ctx, c, engine.User{Name: v.Name, Password: v.Password})
		},
		out: func(ctx context.Context, _ *Reconciler, m engine.UserManager, c *engine.Cluster, v *model.User) error {
			return m.DropUser(ctx, c, v.Name)
		},
		forget: func(ctx context.Context, tx store.Tx, v *model.User) error {
			// The user's grants and ACLs went with it in the engine.
			f := store.Filter{UserID: v.ID}
			if err := deleteAll(ctx, tx.Grants(), f, func(g *model.Grant) string { return g.ID }); err != nil {
				return err
			}
			return deleteAll(ctx, tx.ACLs(), f, func(a *model.ACL) string { return a.ID })
		},
	},
	&kindOf[model.Database, *model.Database, engine.DatabaseManager]{
		kind: model.KindDatabase, what: "databases", repo: store.Tx.Databases,
		in: func(ctx context.Context, r *Reconciler, m engine.DatabaseManager, c *engine.Cluster, v *model.Database) error {
			ed, err := r.engineDatabase(ctx, v)
			if err != nil {
				return err
			}
			return m.EnsureDatabase(ctx, c, ed)
		},
		afterAction: func(ctx context.Context, r *Reconciler, m engine.DatabaseManager, c *engine.Cluster, v *model.Database) error {
			return r.reapplyGrants(ctx, m, c, v)
		},
		out: func(ctx context.Context, _ *Reconciler, m engine.DatabaseManager, c *engine.Cluster, v *model.Database) error {
			return m.DropDatabase(ctx, c, v.Name)
		},
		forget: func(ctx context.Context, tx store.Tx, v *model.Database) error {
			f := store.Filter{DatabaseID: v.ID}
			if err := deleteAll(ctx, tx.Grants(), f, func(g *model.Grant) string { return g.ID }); err != nil {
				return err
			}
			return deleteAll(ctx, tx.Extensions(), f, func(e *model.Extension) string { return e.ID })
		},
	},
	&kindOf[model.Grant, *model.Grant, engine.DatabaseManager]{
		kind: model.KindGrant, what: "grants", repo: store.Tx.Grants,
		in: func(ctx context.Context, r *Reconciler, m engine.DatabaseManager, c *engine.Cluster, v *model.Grant) error {
			eg, err := r.engineGrant(ctx, v)
			if err != nil {
				return err
			}
			return m.EnsureGrant(ctx, c, eg)
		},
		out: func(ctx context.Context, r *Reconciler, m engine.DatabaseManager, c *engine.Cluster, v *model.Grant) error {
			eg, err := r.engineGrant(ctx, v)
			if err != nil {
				return err
			}
			return m.DropGrant(ctx, c, eg)
		},
	},
	&kindOf[model.Extension, *model.Extension, engine.ExtensionManager]{
		kind: model.KindExtension, what: "extensions", repo: store.Tx.Extensions,
		in: func(ctx context.Context, r *Reconciler, m engine.ExtensionManager, c *engine.Cluster, v *model.Extension) error {
			ee, err := r.engineExtension(ctx, v)
			if err != nil {
				return err
			}
			return m.EnsureExtension(ctx, c, ee)
		},
		out: func(ctx context.Context, r *Reconciler, m engine.ExtensionManager, c *engine.Cluster, v *model.Extension) error {
			ee, err := r.engineExtension(ctx, v)
			if err != nil {
				return err
			}
			return m.DropExtension(ctx, c, ee)
		},
	},
	&kindOf[model.Slot, *model.Slot, engine.SlotManager]{
		kind: model.KindSlot, what: "logical replication slots", repo: store.Tx.Slots,
		in: func(ctx context.Context, r *Reconciler, m engine.SlotManager, c *engine.Cluster, v *model.Slot) error {
			db, err := r.databaseName(ctx, v.DatabaseID)
			if err != nil {
				return err
			}
			return m.EnsureSlot(ctx, c, engine.Slot{Name: v.Name, Database: db})
		},
		out: func(ctx context.Context, _ *Reconciler, m engine.SlotManager, c *engine.Cluster, v *model.Slot) error {
			return m.DropSlot(ctx, c, v.Name)
		},
	},
	&kindOf[model.Topic, *model.Topic, engine.TopicManager]{
		kind: model.KindTopic, what: "topics", repo: store.Tx.Topics,
		in: func(ctx context.Context, _ *Reconciler, m engine.TopicManager, c *engine.Cluster, v *model.Topic) error {
			return m.EnsureTopic(ctx, c, engine.Topic{Name: v.Name, Partitions: v.Partitions})
		},
		out: func(ctx context.Context, _ *Reconciler, m engine.TopicManager, c *engine.Cluster, v *model.Topic) error {
			return m.DropTopic(ctx, c, v.Name)
		},
	},
	&kindOf[model.ACL, *model.ACL, engine.ACLManager]{
		kind: model.KindACL, what: "ACLs", repo: store.Tx.ACLs,
		in: func(ctx context.Context, r *Reconciler, m engine.ACLManager, c *engine.Cluster, v *model.ACL) error {
			ea, err := r.engineACL(ctx, v)
			if err != nil {
				return err
			}
			return m.EnsureACL(ctx, c, ea)
		},
		out: func(ctx context.Context, r *Reconciler, m engine.ACLManager, c *engine.Cluster, v *model.ACL) error {
			ea, err := r.engineACL(ctx, v)
			if err != nil {
				return err
			}
			return m.DropACL(ctx, c, ea)
		},
	},
}

// objectActions maps each object action name to its kind and whether it
// drops the object; kindByResource maps resource types to kinds.
var (
	objectActions  = map[string]objectAction{}
	kindByResource = map[string]objectKind{}
)

type objectAction struct {
	kind objectKind
	drop bool
}

func init() {
	for _, k := range objectKinds {
		n := k.names()
		kindByResource[n.Resource] = k
		objectActions[n.Create] = objectAction{kind: k}
		if n.Update != "" {
			objectActions[n.Update] = objectAction{kind: k}
		}
		objectActions[n.Delete] = objectAction{kind: k, drop: true}
	}
}

// runObjectAction carries out an action on an object; ok is false when a
// is not an object action.
func (r *Reconciler) runObjectAction(ctx context.Context, a *model.Action) (ok bool, err error) {
	oa, ok := objectActions[a.Name]
	if !ok {
		return false, nil
	}
	if oa.drop {
		return true, oa.kind.drop(ctx, r, a.ResourceID)
	}
	return true, oa.kind.ensure(ctx, r, a.ResourceID)
}

func (k kindOf[T, P, M]) names() model.ObjectKind { return k.kind }

// capability returns the datastore's driver as M, or a permanent error
// when its engine has no such objects.
func (k kindOf[T, P, M]) capability(st *state) (M, error) {
	m, ok := st.drv.(M)
	if !ok {
		return m, fmt.Errorf("%s: %w", k.what, errors.Join(engine.ErrUnsupported, errPermanent))
	}
	return m, nil
}

// load reads record id and what an engine call needs: the datastore's
// cluster and the capability. A missing record is ErrNotFound.
func (k kindOf[T, P, M]) load(ctx context.Context, r *Reconciler, id string) (*T, *engine.Cluster, M, error) {
	var m M
	v, err := k.repo(r.store).Get(ctx, id)
	if err != nil {
		return nil, nil, m, err
	}
	st, err := r.load(ctx, r.store, P(v).Head().DatastoreID)
	if err != nil {
		return v, nil, m, err
	}
	m, err = k.capability(st)
	if err != nil {
		return v, nil, m, err
	}
	return v, r.cluster(st), m, nil
}

func (k kindOf[T, P, M]) ensure(ctx context.Context, r *Reconciler, id string) error {
	v, c, m, err := k.load(ctx, r, id)
	if err != nil {
		return err
	}
	if err := k.in(ctx, r, m, c, v); err != nil {
		return err
	}
	if k.afterAction != nil {
		if err := k.afterAction(ctx, r, m, c, v); err != nil {
			return err
		}
	}
	return r.store.InTx(ctx, func(tx store.Tx) error {
		return k.setStatus(ctx, tx, id, model.StatusActive, r.now())
	})
}

func (k kindOf[T, P, M]) drop(ctx context.Context, r *Reconciler, id string) error {
	v, c, m, err := k.load(ctx, r, id)
	if v == nil && errors.Is(err, store.ErrNotFound) {
		return nil // the record is gone: dropped already
	}
	if err != nil {
		return err
	}
	if err := k.out(ctx, r, m, c, v); err != nil {
		return err
	}
	return r.store.InTx(ctx, func(tx store.Tx) error {
		if k.forget != nil {
			if err := k.forget(ctx, tx, v); err != nil {
				return err
			}
		}
		return ignoreMissing(k.repo(tx).Delete(ctx, id))
	})
}

func (k kindOf[T, P, M]) repair(ctx context.Context, r *Reconciler, st *state, c *engine.Cluster) ([]func(store.Tx) error, error) {
	m, ok := st.drv.(M)
	if !ok {
		return nil, nil
	}
	list, err := k.repo(r.store).List(ctx, store.Filter{DatastoreID: st.ds.ID})
	if err != nil {
		return nil, err
	}
	var created []func(store.Tx) error
	for i := range list {
		h := P(&list[i]).Head()
		if h.Status == model.StatusPendingDelete || h.Status == model.StatusError {
			continue // left to its delete action, or to the retry of its failed one
		}
		if err := k.in(ctx, r, m, c, &list[i]); err != nil {
			return nil, fmt.Errorf("repair %s %s: %w", k.kind.Resource, h.ID, err)
		}
		if h.Status == model.StatusPendingCreate {
			id := h.ID
			created = append(created, func(tx store.Tx) error {
				return k.setStatus(ctx, tx, id, model.StatusActive, r.now())
			})
		}
	}
	return created, nil
}

func (k kindOf[T, P, M]) setStatus(ctx context.Context, tx store.Tx, id, status string, now time.Time) error {
	v, err := k.repo(tx).GetForUpdate(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h := P(v).Head()
	h.Status, h.UpdatedAt = status, now
	return k.repo(tx).Update(ctx, v)
}

func (k kindOf[T, P, M]) forgetAll(ctx context.Context, tx store.Tx, dsID string) error {
	return deleteAll(ctx, k.repo(tx), store.Filter{DatastoreID: dsID}, func(v *T) string { return P(v).Head().ID })
}

// ensureObjects re-creates, in dependency order, every object recorded for
// a datastore (a repair after a restore or after someone removed one by
// hand), then marks ACTIVE those recorded before their engine object
// existed. Objects being deleted are left to their delete actions.
func (r *Reconciler) ensureObjects(ctx context.Context, st *state, c *engine.Cluster) error {
	var created []func(store.Tx) error
	for _, k := range objectKinds {
		steps, err := k.repair(ctx, r, st, c)
		if err != nil {
			return err
		}
		created = append(created, steps...)
	}
	return r.store.InTx(ctx, func(tx store.Tx) error {
		for _, f := range created {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

func ignoreMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Conversions of records to the engine's values: names of the objects a
// record refers to by ID.

func (r *Reconciler) userName(ctx context.Context, id string) (string, error) {
	u, err := r.store.Users().Get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", id, err)
	}
	return u.Name, nil
}

func (r *Reconciler) databaseName(ctx context.Context, id string) (string, error) {
	d, err := r.store.Databases().Get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("database %s: %w", id, err)
	}
	return d.Name, nil
}

func (r *Reconciler) engineDatabase(ctx context.Context, d *model.Database) (engine.Database, error) {
	ed := engine.Database{Name: d.Name, LcCollate: d.LcCollate, LcCtype: d.LcCtype}
	if d.OwnerID != "" {
		owner, err := r.userName(ctx, d.OwnerID)
		if err != nil {
			return ed, err
		}
		ed.Owner = owner
	}
	return ed, nil
}

func (r *Reconciler) engineGrant(ctx context.Context, g *model.Grant) (engine.Grant, error) {
	user, err := r.userName(ctx, g.UserID)
	if err != nil {
		return engine.Grant{}, err
	}
	db, err := r.databaseName(ctx, g.DatabaseID)
	return engine.Grant{User: user, Database: db}, err
}

func (r *Reconciler) engineExtension(ctx context.Context, e *model.Extension) (engine.Extension, error) {
	ae, err := r.store.AvailableExtensions().Get(ctx, e.AvailableExtensionID)
	if err != nil {
		return engine.Extension{}, fmt.Errorf("available extension %s: %w", e.AvailableExtensionID, err)
	}
	db, err := r.databaseName(ctx, e.DatabaseID)
	return engine.Extension{Name: ae.Name, Database: db}, err
}

func (r *Reconciler) engineACL(ctx context.Context, a *model.ACL) (engine.ACL, error) {
	user, err := r.userName(ctx, a.UserID)
	return engine.ACL{User: user, Pattern: a.Pattern, PatternType: a.PatternType, Read: a.AllowRead, Write: a.AllowWrite}, err
}

// reapplyGrants ensures again every ACTIVE grant recorded on a database:
// the grants the API records are the truth after anything that may have
// rewritten privileges in the engine. A PostgreSQL owner change is one:
// ALTER DATABASE … OWNER TO rewrites every privilege the old owner held,
// granted to itself included, to the new owner, so a user with a recorded
// grant who owned the database would lose CONNECT. Grants still pending
// have actions of their own, queued behind this one.
func (r *Reconciler) reapplyGrants(ctx context.Context, dm engine.DatabaseManager, c *engine.Cluster, d *model.Database) error {
	grants, err := r.store.Grants().List(ctx, store.Filter{DatabaseID: d.ID, Status: model.StatusActive})
	if err != nil {
		return err
	}
	for i := range grants {
		eg, err := r.engineGrant(ctx, &grants[i])
		if err != nil {
			return err
		}
		if err := dm.EnsureGrant(ctx, c, eg); err != nil {
			return fmt.Errorf("re-apply the grant of database %s to %s: %w", eg.Database, eg.User, err)
		}
	}
	return nil
}
