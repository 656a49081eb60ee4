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

type objectHandler func(r *Reconciler, ctx context.Context, a *model.Action) error

// objectHandlers run the actions on objects inside datastores. Each
// loads what it needs by ID, calls the driver (idempotently), and then
// records the result: ACTIVE, or the record removed after a delete.
var objectHandlers = map[string]objectHandler{
	model.ActUserCreate: (*Reconciler).ensureUser, model.ActUserUpdate: (*Reconciler).ensureUser,
	model.ActUserDelete:     (*Reconciler).dropUser,
	model.ActDatabaseCreate: (*Reconciler).ensureDatabase, model.ActDatabaseUpdate: (*Reconciler).ensureDatabase,
	model.ActDatabaseDelete:  (*Reconciler).dropDatabase,
	model.ActGrantCreate:     (*Reconciler).ensureGrant,
	model.ActGrantDelete:     (*Reconciler).dropGrant,
	model.ActExtensionCreate: (*Reconciler).ensureExtension,
	model.ActExtensionDelete: (*Reconciler).dropExtension,
	model.ActSlotCreate:      (*Reconciler).ensureSlot,
	model.ActSlotDelete:      (*Reconciler).dropSlot,
	model.ActTopicCreate:     (*Reconciler).ensureTopic, model.ActTopicUpdate: (*Reconciler).ensureTopic,
	model.ActTopicDelete: (*Reconciler).dropTopic,
	model.ActACLCreate:   (*Reconciler).ensureACL, model.ActACLUpdate: (*Reconciler).ensureACL,
	model.ActACLDelete: (*Reconciler).dropACL,
}

type statusSetter func(ctx context.Context, tx store.Tx, id, status string, now time.Time) error

func setter[T any](repo func(store.Tx) store.Repo[T], set func(*T, string, time.Time)) statusSetter {
	return func(ctx context.Context, tx store.Tx, id, status string, now time.Time) error {
		v, err := repo(tx).GetForUpdate(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		set(v, status, now)
		return repo(tx).Update(ctx, v)
	}
}

var objectStatusSetters = map[string]statusSetter{
	"user": setter(func(tx store.Tx) store.Repo[model.User] { return tx.Users() },
		func(v *model.User, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"database": setter(func(tx store.Tx) store.Repo[model.Database] { return tx.Databases() },
		func(v *model.Database, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"grant": setter(func(tx store.Tx) store.Repo[model.Grant] { return tx.Grants() },
		func(v *model.Grant, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"extension": setter(func(tx store.Tx) store.Repo[model.Extension] { return tx.Extensions() },
		func(v *model.Extension, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"logical-replication-slot": setter(func(tx store.Tx) store.Repo[model.Slot] { return tx.Slots() },
		func(v *model.Slot, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"topic": setter(func(tx store.Tx) store.Repo[model.Topic] { return tx.Topics() },
		func(v *model.Topic, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
	"acl": setter(func(tx store.Tx) store.Repo[model.ACL] { return tx.ACLs() },
		func(v *model.ACL, s string, t time.Time) { v.Status, v.UpdatedAt = s, t }),
}

// objectCtx is what an object action needs: the datastore's cluster and
// the driver's capability.
func (r *Reconciler) objectCtx(ctx context.Context, dsID string) (*state, *engine.Cluster, error) {
	st, err := r.load(ctx, r.store, dsID)
	if err != nil {
		return nil, nil, err
	}
	return st, r.cluster(st), nil
}

func capability[T any](st *state, what string) (T, error) {
	c, ok := st.drv.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, errors.Join(engine.ErrUnsupported, errPermanent))
	}
	return c, nil
}

// activate marks an object ACTIVE after its action succeeded.
func (r *Reconciler) activate(ctx context.Context, a *model.Action) error {
	return r.store.InTx(ctx, func(tx store.Tx) error {
		return objectStatusSetters[a.ResourceType](ctx, tx, a.ResourceID, model.StatusActive, r.now())
	})
}

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

// Users

func (r *Reconciler) ensureUser(ctx context.Context, a *model.Action) error {
	u, err := r.store.Users().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, u.DatastoreID)
	if err != nil {
		return err
	}
	um, err := capability[engine.UserManager](st, "users")
	if err != nil {
		return err
	}
	if err := um.EnsureUser(ctx, c, engine.User{Name: u.Name, Password: u.Password}); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropUser(ctx context.Context, a *model.Action) error {
	u, err := r.store.Users().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, u.DatastoreID)
	if err != nil {
		return err
	}
	um, err := capability[engine.UserManager](st, "users")
	if err != nil {
		return err
	}
	if err := um.DropUser(ctx, c, u.Name); err != nil {
		return err
	}
	// The user's grants and ACLs went with it in the engine.
	return r.store.InTx(ctx, func(tx store.Tx) error {
		f := store.Filter{"user_id": u.ID}
		if err := deleteAll(ctx, tx.Grants(), f, func(v *model.Grant) string { return v.ID }); err != nil {
			return err
		}
		if err := deleteAll(ctx, tx.ACLs(), f, func(v *model.ACL) string { return v.ID }); err != nil {
			return err
		}
		return ignoreMissing(tx.Users().Delete(ctx, u.ID))
	})
}

func ignoreMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Databases

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

func (r *Reconciler) ensureDatabase(ctx context.Context, a *model.Action) error {
	d, err := r.store.Databases().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, d.DatastoreID)
	if err != nil {
		return err
	}
	dm, err := capability[engine.DatabaseManager](st, "databases")
	if err != nil {
		return err
	}
	ed, err := r.engineDatabase(ctx, d)
	if err != nil {
		return err
	}
	if err := dm.EnsureDatabase(ctx, c, ed); err != nil {
		return err
	}
	if err := r.reapplyGrants(ctx, dm, c, d); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

// reapplyGrants ensures again every ACTIVE grant recorded on a database:
// the grants the API records are the truth after anything that may have
// rewritten privileges in the engine. A PostgreSQL owner change is one:
// ALTER DATABASE … OWNER TO rewrites every privilege the old owner held,
// granted to itself included, to the new owner, so a user with a recorded
// grant who owned the database would lose CONNECT. Grants still pending
// have actions of their own, queued behind this one.
func (r *Reconciler) reapplyGrants(ctx context.Context, dm engine.DatabaseManager, c *engine.Cluster, d *model.Database) error {
	grants, err := r.store.Grants().List(ctx, store.Filter{"database_id": d.ID, "status": model.StatusActive})
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

func (r *Reconciler) dropDatabase(ctx context.Context, a *model.Action) error {
	d, err := r.store.Databases().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, d.DatastoreID)
	if err != nil {
		return err
	}
	dm, err := capability[engine.DatabaseManager](st, "databases")
	if err != nil {
		return err
	}
	if err := dm.DropDatabase(ctx, c, d.Name); err != nil {
		return err
	}
	return r.store.InTx(ctx, func(tx store.Tx) error {
		f := store.Filter{"database_id": d.ID}
		if err := deleteAll(ctx, tx.Grants(), f, func(v *model.Grant) string { return v.ID }); err != nil {
			return err
		}
		if err := deleteAll(ctx, tx.Extensions(), f, func(v *model.Extension) string { return v.ID }); err != nil {
			return err
		}
		return ignoreMissing(tx.Databases().Delete(ctx, d.ID))
	})
}

// Grants

func (r *Reconciler) engineGrant(ctx context.Context, g *model.Grant) (engine.Grant, error) {
	user, err := r.userName(ctx, g.UserID)
	if err != nil {
		return engine.Grant{}, err
	}
	db, err := r.databaseName(ctx, g.DatabaseID)
	return engine.Grant{User: user, Database: db}, err
}

func (r *Reconciler) ensureGrant(ctx context.Context, a *model.Action) error {
	g, err := r.store.Grants().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, g.DatastoreID)
	if err != nil {
		return err
	}
	dm, err := capability[engine.DatabaseManager](st, "grants")
	if err != nil {
		return err
	}
	eg, err := r.engineGrant(ctx, g)
	if err != nil {
		return err
	}
	if err := dm.EnsureGrant(ctx, c, eg); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropGrant(ctx context.Context, a *model.Action) error {
	g, err := r.store.Grants().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, g.DatastoreID)
	if err != nil {
		return err
	}
	dm, err := capability[engine.DatabaseManager](st, "grants")
	if err != nil {
		return err
	}
	eg, err := r.engineGrant(ctx, g)
	if err != nil {
		return err
	}
	if err := dm.DropGrant(ctx, c, eg); err != nil {
		return err
	}
	return ignoreMissing(r.store.Grants().Delete(ctx, g.ID))
}

// Extensions

func (r *Reconciler) engineExtension(ctx context.Context, e *model.Extension) (engine.Extension, error) {
	ae, err := r.store.AvailableExtensions().Get(ctx, e.AvailableExtensionID)
	if err != nil {
		return engine.Extension{}, fmt.Errorf("available extension %s: %w", e.AvailableExtensionID, err)
	}
	db, err := r.databaseName(ctx, e.DatabaseID)
	return engine.Extension{Name: ae.Name, Database: db}, err
}

func (r *Reconciler) ensureExtension(ctx context.Context, a *model.Action) error {
	e, err := r.store.Extensions().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, e.DatastoreID)
	if err != nil {
		return err
	}
	em, err := capability[engine.ExtensionManager](st, "extensions")
	if err != nil {
		return err
	}
	ee, err := r.engineExtension(ctx, e)
	if err != nil {
		return err
	}
	if err := em.EnsureExtension(ctx, c, ee); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropExtension(ctx context.Context, a *model.Action) error {
	e, err := r.store.Extensions().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, e.DatastoreID)
	if err != nil {
		return err
	}
	em, err := capability[engine.ExtensionManager](st, "extensions")
	if err != nil {
		return err
	}
	ee, err := r.engineExtension(ctx, e)
	if err != nil {
		return err
	}
	if err := em.DropExtension(ctx, c, ee); err != nil {
		return err
	}
	return ignoreMissing(r.store.Extensions().Delete(ctx, e.ID))
}

// Logical replication slots

func (r *Reconciler) ensureSlot(ctx context.Context, a *model.Action) error {
	s, err := r.store.Slots().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, s.DatastoreID)
	if err != nil {
		return err
	}
	sm, err := capability[engine.SlotManager](st, "logical replication slots")
	if err != nil {
		return err
	}
	db, err := r.databaseName(ctx, s.DatabaseID)
	if err != nil {
		return err
	}
	if err := sm.EnsureSlot(ctx, c, engine.Slot{Name: s.Name, Database: db}); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropSlot(ctx context.Context, a *model.Action) error {
	s, err := r.store.Slots().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, s.DatastoreID)
	if err != nil {
		return err
	}
	sm, err := capability[engine.SlotManager](st, "logical replication slots")
	if err != nil {
		return err
	}
	if err := sm.DropSlot(ctx, c, s.Name); err != nil {
		return err
	}
	return ignoreMissing(r.store.Slots().Delete(ctx, s.ID))
}

// Topics

func (r *Reconciler) ensureTopic(ctx context.Context, a *model.Action) error {
	t, err := r.store.Topics().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, t.DatastoreID)
	if err != nil {
		return err
	}
	tm, err := capability[engine.TopicManager](st, "topics")
	if err != nil {
		return err
	}
	if err := tm.EnsureTopic(ctx, c, engine.Topic{Name: t.Name, Partitions: t.Partitions}); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropTopic(ctx context.Context, a *model.Action) error {
	t, err := r.store.Topics().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, t.DatastoreID)
	if err != nil {
		return err
	}
	tm, err := capability[engine.TopicManager](st, "topics")
	if err != nil {
		return err
	}
	if err := tm.DropTopic(ctx, c, t.Name); err != nil {
		return err
	}
	return ignoreMissing(r.store.Topics().Delete(ctx, t.ID))
}

// ACLs

func (r *Reconciler) engineACL(ctx context.Context, a *model.ACL) (engine.ACL, error) {
	user, err := r.userName(ctx, a.UserID)
	return engine.ACL{User: user, Pattern: a.Pattern, PatternType: a.PatternType, Read: a.AllowRead, Write: a.AllowWrite}, err
}

func (r *Reconciler) ensureACL(ctx context.Context, a *model.Action) error {
	acl, err := r.store.ACLs().Get(ctx, a.ResourceID)
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, acl.DatastoreID)
	if err != nil {
		return err
	}
	am, err := capability[engine.ACLManager](st, "ACLs")
	if err != nil {
		return err
	}
	ea, err := r.engineACL(ctx, acl)
	if err != nil {
		return err
	}
	if err := am.EnsureACL(ctx, c, ea); err != nil {
		return err
	}
	return r.activate(ctx, a)
}

func (r *Reconciler) dropACL(ctx context.Context, a *model.Action) error {
	acl, err := r.store.ACLs().Get(ctx, a.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, c, err := r.objectCtx(ctx, acl.DatastoreID)
	if err != nil {
		return err
	}
	am, err := capability[engine.ACLManager](st, "ACLs")
	if err != nil {
		return err
	}
	ea, err := r.engineACL(ctx, acl)
	if err != nil {
		return err
	}
	if err := am.DropACL(ctx, c, ea); err != nil {
		return err
	}
	return ignoreMissing(r.store.ACLs().Delete(ctx, acl.ID))
}

// ensureObjects re-creates, in dependency order, every object recorded for
// a datastore (a repair after a restore or after someone removed one by
// hand). Objects being deleted are left to their delete actions.
func (r *Reconciler) ensureObjects(ctx context.Context, st *state, c *engine.Cluster) error {
	f := store.Filter{"datastore_id": st.ds.ID}
	live := func(status string) bool { return status != model.StatusPendingDelete && status != model.StatusError }
	var created []func(store.Tx) error // objects recorded before their engine object existed
	if um, ok := st.drv.(engine.UserManager); ok {
		users, err := r.store.Users().List(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range users {
			if live(u.Status) {
				if err := um.EnsureUser(ctx, c, engine.User{Name: u.Name, Password: u.Password}); err != nil {
					return fmt.Errorf("repair user %s: %w", u.Name, err)
				}
				created = append(created, r.activateIfPending(ctx, "user", u.ID, u.Status))
			}
		}
	}
	if dm, ok := st.drv.(engine.DatabaseManager); ok {
		dbs, err := r.store.Databases().List(ctx, f)
		if err != nil {
			return err
		}
		for i := range dbs {
			if !live(dbs[i].Status) {
				continue
			}
			ed, err := r.engineDatabase(ctx, &dbs[i])
			if err != nil {
				return err
			}
			if err := dm.EnsureDatabase(ctx, c, ed); err != nil {
				return fmt.Errorf("repair database %s: %w", ed.Name, err)
			}
			created = append(created, r.activateIfPending(ctx, "database", dbs[i].ID, dbs[i].Status))
		}
		grants, err := r.store.Grants().List(ctx, f)
		if err != nil {
			return err
		}
		for i := range grants {
			if !live(grants[i].Status) {
				continue
			}
			eg, err := r.engineGrant(ctx, &grants[i])
			if err != nil {
				return err
			}
			if err := dm.EnsureGrant(ctx, c, eg); err != nil {
				return fmt.Errorf("repair grant: %w", err)
			}
			created = append(created, r.activateIfPending(ctx, "grant", grants[i].ID, grants[i].Status))
		}
	}
	if em, ok := st.drv.(engine.ExtensionManager); ok {
		exts, err := r.store.Extensions().List(ctx, f)
		if err != nil {
			return err
		}
		for i := range exts {
			if !live(exts[i].Status) {
				continue
			}
			ee, err := r.engineExtension(ctx, &exts[i])
			if err != nil {
				return err
			}
			if err := em.EnsureExtension(ctx, c, ee); err != nil {
				return fmt.Errorf("repair extension %s: %w", ee.Name, err)
			}
			created = append(created, r.activateIfPending(ctx, "extension", exts[i].ID, exts[i].Status))
		}
	}
	if sm, ok := st.drv.(engine.SlotManager); ok {
		slots, err := r.store.Slots().List(ctx, f)
		if err != nil {
			return err
		}
		for _, s := range slots {
			if !live(s.Status) {
				continue
			}
			db, err := r.databaseName(ctx, s.DatabaseID)
			if err != nil {
				return err
			}
			if err := sm.EnsureSlot(ctx, c, engine.Slot{Name: s.Name, Database: db}); err != nil {
				return fmt.Errorf("repair slot %s: %w", s.Name, err)
			}
		}
	}
	if tm, ok := st.drv.(engine.TopicManager); ok {
		topics, err := r.store.Topics().List(ctx, f)
		if err != nil {
			return err
		}
		for _, t := range topics {
			if live(t.Status) {
				if err := tm.EnsureTopic(ctx, c, engine.Topic{Name: t.Name, Partitions: t.Partitions}); err != nil {
					return fmt.Errorf("repair topic %s: %w", t.Name, err)
				}
			}
		}
	}
	if am, ok := st.drv.(engine.ACLManager); ok {
		acls, err := r.store.ACLs().List(ctx, f)
		if err != nil {
			return err
		}
		for i := range acls {
			if !live(acls[i].Status) {
				continue
			}
			ea, err := r.engineACL(ctx, &acls[i])
			if err != nil {
				return err
			}
			if err := am.EnsureACL(ctx, c, ea); err != nil {
				return fmt.Errorf("repair ACL: %w", err)
			}
		}
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

// activateIfPending returns a step that marks an object ACTIVE if it was
// recorded as PENDING_CREATE (objects a repair created in the engine).
func (r *Reconciler) activateIfPending(ctx context.Context, kind, id, status string) func(store.Tx) error {
	return func(tx store.Tx) error {
		if status != model.StatusPendingCreate {
			return nil
		}
		return objectStatusSetters[kind](ctx, tx, id, model.StatusActive, r.now())
	}
}
