package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

var (
	identRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)
	slotRe   = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	topicRe  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
	localeRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{0,64}$`)
)

// Names engines or dbaasd reserve for themselves.
var reservedNames = map[string]bool{
	"postgres": true, "template0": true, "template1": true, "root": true, "mysql": true, "sys": true,
	"information_schema": true, "performance_schema": true, "mariadb.sys": true, "public": true,
	"pg_catalog": true, "default": true,
}

func checkIdent(field, name string) error {
	if !identRe.MatchString(name) {
		return Invalid(field, "must start with a letter or underscore and contain only letters, digits, _ and -, at most 63 characters; got %q", name)
	}
	low := strings.ToLower(name)
	if reservedNames[low] || strings.HasPrefix(low, "pg_") || strings.HasPrefix(low, "dbaasd") {
		return Invalid(field, "%q is reserved", name)
	}
	return nil
}

func checkPassword(field, pw string) error {
	if len(pw) < 8 || len(pw) > 128 {
		return Invalid(field, "must be 8 to 128 characters long")
	}
	for _, r := range pw {
		if unicode.IsControl(r) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// objectDatastore loads the datastore a new or changed object belongs to: it
// must be the caller's, live, in a state that accepts object changes (see
// acceptsObjects), and of an engine that has this kind of object.
func (s *Service) objectDatastore(ctx context.Context, tx store.Tx, c Caller, id, what string,
	has func(Capabilities) bool) (*model.Datastore, *model.DatastoreType, error) {
	d, err := tx.Datastores().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.ProjectID != c.ProjectID || d.Deleted)) {
		return nil, nil, Invalid("datastore_id", "no datastore %s in this project", id)
	}
	if err != nil {
		return nil, nil, err
	}
	typ, err := tx.DatastoreTypes().Get(ctx, d.TypeID)
	if err != nil {
		return nil, nil, fmt.Errorf("datastore type: %w", err)
	}
	if !has(s.cfg.Capabilities[typ.Engine]) {
		return nil, nil, Invalid("datastore_id", "%s do not apply to %s datastores", what, typ.Engine)
	}
	if err := acceptsObjects(d); err != nil {
		return nil, nil, err
	}
	return d, typ, nil
}

// acceptsObjects refuses changes of users, databases, grants, extensions,
// slots, topics and ACLs that a datastore cannot carry out. The actions of
// a datastore run one at a time in the order they were recorded, so a
// change asked for while the datastore is being created, updated (firewall,
// configuration, pooler, password), resized or repaired is queued behind
// that work and converges when it ends; the object answers PENDING_CREATE,
// PENDING_UPDATE or PENDING_DELETE meanwhile, as usual. What is refused:
//   - a datastore being deleted: its objects go with it;
//   - a datastore whose primary is DOWN: a change queued now would run
//     before the failover or repair the datastore waits for and hold it
//     back;
//   - a datastore in ERROR: its servers may not run at all, and the change
//     would end in ERROR too; it is accepted again once the datastore is
//     repaired.
func acceptsObjects(d *model.Datastore) error {
	switch d.Status {
	case model.StatusPendingDelete, model.StatusDeleted:
		return Conflict("datastore_id", "datastore %s is being deleted; its users, databases and other objects go with it", d.ID)
	case model.StatusDown:
		return Conflict("datastore_id", "datastore %s is DOWN (its primary does not answer); "+
			"changes inside it are accepted again once it is repaired", d.ID)
	case model.StatusError:
		return Conflict("datastore_id", "datastore %s is in ERROR (GET /v1/actions?datastore_id=%s shows why); "+
			"changes inside it are accepted again once it is repaired", d.ID, d.ID)
	}
	return nil
}

// create inserts a new object (PENDING_CREATE) and its action in one
// transaction. build returns the object after validating it against the
// datastore; a name clash becomes a 400 on field.
func create[T any](s *Service, ctx context.Context, c Caller, repo func(store.Tx) store.Repo[T],
	dsID, what string, has func(Capabilities) bool, quota store.Usage, action, resource, field string,
	build func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*T, string, error)) (*T, error) {
	var out *T
	err := s.inTx(ctx, func(tx store.Tx) error {
		d, typ, err := s.objectDatastore(ctx, tx, c, dsID, what, has)
		if err != nil {
			return err
		}
		v, id, err := build(tx, d, typ)
		if err != nil {
			return err
		}
		if quota != (store.Usage{}) {
			if err := s.checkQuota(ctx, tx, c.ProjectID, quota); err != nil {
				return err
			}
		}
		if err := repo(tx).Insert(ctx, v); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return Conflict(field, "already exists in datastore %s", dsID)
			}
			return err
		}
		if _, err := s.enqueue(ctx, tx, c, dsID, action, resource, id, nil); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// change updates an object of the caller in one transaction with its
// action: load (locked), check its datastore accepts work, let fn modify it,
// store it, record the action.
func change[T any](s *Service, ctx context.Context, c Caller, repo func(store.Tx) store.Repo[T], id, what string,
	has func(Capabilities) bool, project func(*T) string, dsOf func(*T) string, action, resource string,
	fn func(tx store.Tx, v *T) error) (*T, error) {
	var out *T
	err := s.inTx(ctx, func(tx store.Tx) error {
		v, err := ownedForUpdate(ctx, repo(tx), c, id, what, project)
		if err != nil {
			return err
		}
		if _, _, err := s.objectDatastore(ctx, tx, c, dsOf(v), what+"s", has); err != nil {
			return err
		}
		if err := fn(tx, v); err != nil {
			return err
		}
		if err := repo(tx).Update(ctx, v); err != nil {
			return err
		}
		if action != "" {
			if _, err := s.enqueue(ctx, tx, c, dsOf(v), action, resource, id, nil); err != nil {
				return err
			}
		}
		out = v
		return nil
	})
	return out, err
}

// pendingDelete is the common check of deletions: an object already being
// deleted cannot be deleted again.
func pendingDelete(status *string, what, id string) error {
	if *status == model.StatusPendingDelete {
		return Conflict("id", "%s %s is already being deleted", what, id)
	}
	*status = model.StatusPendingDelete
	return nil
}

// list returns the caller's objects matching f.
func list[T any](ctx context.Context, r store.Repo[T], c Caller, f store.Filter) ([]T, error) {
	return r.List(ctx, scoped(c, f))
}

func capUsers(c Capabilities) bool      { return c.Users }
func capDatabases(c Capabilities) bool  { return c.Databases }
func capExtensions(c Capabilities) bool { return c.Extensions }
func capSlots(c Capabilities) bool      { return c.Slots }
func capTopics(c Capabilities) bool     { return c.Topics }
func capACLs(c Capabilities) bool       { return c.ACLs }
