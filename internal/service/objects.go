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

// kind describes one kind of object inside a datastore for the service,
// once: its record, its names in messages, the engines that have it and
// what it counts against the project's quota.
type kind[T any, P interface {
	*T
	model.Objecter
}] struct {
	model.ObjectKind
	what   string // in messages: "user"
	plural string // "users"
	field  string // the request field a name clash is reported on
	repo   func(store.Tx) store.Repo[T]
	has    func(Capabilities) bool
	quota  store.Usage
}

var (
	userKind = kind[model.User, *model.User]{ObjectKind: model.KindUser, what: "user", plural: "users",
		field: "user.name", repo: store.Tx.Users, has: capUsers, quota: store.Usage{Users: 1}}
	databaseKind = kind[model.Database, *model.Database]{ObjectKind: model.KindDatabase, what: "database",
		plural: "databases", field: "database.name", repo: store.Tx.Databases, has: capDatabases,
		quota: store.Usage{Databases: 1}}
	grantKind = kind[model.Grant, *model.Grant]{ObjectKind: model.KindGrant, what: "grant", plural: "grants",
		field: "grant.user_id", repo: store.Tx.Grants, has: capDatabases}
	extensionKind = kind[model.Extension, *model.Extension]{ObjectKind: model.KindExtension, what: "extension",
		plural: "extensions", field: "extension.available_extension_id", repo: store.Tx.Extensions,
		has: capExtensions}
	slotKind = kind[model.Slot, *model.Slot]{ObjectKind: model.KindSlot, what: "logical replication slot",
		plural: "logical replication slots", field: "logical-replication-slot.name", repo: store.Tx.Slots,
		has: capSlots}
	topicKind = kind[model.Topic, *model.Topic]{ObjectKind: model.KindTopic, what: "topic", plural: "topics",
		field: "topic.name", repo: store.Tx.Topics, has: capTopics, quota: store.Usage{Topics: 1}}
	aclKind = kind[model.ACL, *model.ACL]{ObjectKind: model.KindACL, what: "acl", plural: "ACLs",
		field: "acl.pattern", repo: store.Tx.ACLs, has: capACLs, quota: store.Usage{ACLs: 1}}
)

// newObject is the common part of a new object of datastore dsID, recorded
// as PENDING_CREATE.
func (s *Service) newObject(c Caller, dsID string) model.Object {
	return model.Object{Base: s.base(c), DatastoreID: dsID, Status: model.StatusPendingCreate}
}

// getObject returns one of the caller's objects.
func getObject[T any, P interface {
	*T
	model.Objecter
}](ctx context.Context, s *Service, c Caller, k kind[T, P], id string) (*T, error) {
	return owned(ctx, k.repo(s.store), c, id, k.what, func(v *T) string { return P(v).Head().ProjectID })
}

// create inserts a new object (PENDING_CREATE) and its action in one
// transaction. build returns the object after validating it against the
// datastore; a name clash becomes a 409 on the kind's field.
func create[T any, P interface {
	*T
	model.Objecter
}](ctx context.Context, s *Service, c Caller, k kind[T, P], dsID string,
	build func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*T, error)) (*T, error) {
	var out *T
	err := s.inTx(ctx, func(tx store.Tx) error {
		d, typ, err := s.objectDatastore(ctx, tx, c, dsID, k.plural, k.has)
		if err != nil {
			return err
		}
		v, err := build(tx, d, typ)
		if err != nil {
			return err
		}
		if k.quota != (store.Usage{}) {
			if err := s.checkQuota(ctx, tx, c.ProjectID, k.quota); err != nil {
				return err
			}
		}
		if err := k.repo(tx).Insert(ctx, v); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return Conflict(k.field, "already exists in datastore %s", dsID)
			}
			return err
		}
		if _, err := s.enqueue(ctx, tx, c, dsID, k.Create, k.Resource, P(v).Head().ID, nil); err != nil {
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
func change[T any, P interface {
	*T
	model.Objecter
}](ctx context.Context, s *Service, c Caller, k kind[T, P], id, action string,
	fn func(tx store.Tx, v *T) error) (*T, error) {
	var out *T
	err := s.inTx(ctx, func(tx store.Tx) error {
		v, err := ownedForUpdate(ctx, k.repo(tx), c, id, k.what, func(v *T) string { return P(v).Head().ProjectID })
		if err != nil {
			return err
		}
		if _, _, err := s.objectDatastore(ctx, tx, c, P(v).Head().DatastoreID, k.plural, k.has); err != nil {
			return err
		}
		if err := fn(tx, v); err != nil {
			return err
		}
		if err := k.repo(tx).Update(ctx, v); err != nil {
			return err
		}
		if _, err := s.enqueue(ctx, tx, c, P(v).Head().DatastoreID, action, k.Resource, id, nil); err != nil {
			return err
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
