package service

import (
	"context"
	"errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// DatabaseCreate is a request for a new database.
type DatabaseCreate struct {
	DatastoreID string
	Name        string
	OwnerID     string
	LcCollate   string
	LcCtype     string
}

// userIn loads a user of datastore dsID for a reference in field.
func userIn(ctx context.Context, tx store.Tx, c Caller, dsID, userID, field string) (*model.User, error) {
	u, err := tx.Users().Get(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.ProjectID != c.ProjectID || u.DatastoreID != dsID)) {
		return nil, Invalid(field, "no user %s in datastore %s", userID, dsID)
	}
	if err != nil {
		return nil, err
	}
	if u.Status == model.StatusPendingDelete || u.Status == model.StatusError {
		return nil, Conflict(field, "user %s is %s", userID, u.Status)
	}
	return u, nil
}

// databaseIn loads a database of datastore dsID for a reference in field.
func databaseIn(ctx context.Context, tx store.Tx, c Caller, dsID, dbID, field string) (*model.Database, error) {
	db, err := tx.Databases().Get(ctx, dbID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (db.ProjectID != c.ProjectID || db.DatastoreID != dsID)) {
		return nil, Invalid(field, "no database %s in datastore %s", dbID, dsID)
	}
	if err != nil {
		return nil, err
	}
	if db.Status == model.StatusPendingDelete || db.Status == model.StatusError {
		return nil, Conflict(field, "database %s is %s", dbID, db.Status)
	}
	return db, nil
}

// CreateDatabase records a new database.
func (s *Service) CreateDatabase(ctx context.Context, c Caller, in DatabaseCreate) (*model.Database, error) {
	if err := checkIdent("database.name", in.Name); err != nil {
		return nil, err
	}
	if !localeRe.MatchString(in.LcCollate) {
		return nil, Invalid("database.lc_collate", "must be a locale or collation name (letters, digits, _ . @ -)")
	}
	if !localeRe.MatchString(in.LcCtype) {
		return nil, Invalid("database.lc_ctype", "must be a locale name (letters, digits, _ . @ -)")
	}
	return create(ctx, s, c, databaseKind, in.DatastoreID,
		func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*model.Database, error) {
			if err := s.checkNameWithEngine(typ.Engine, engine.ObjectDatabase, "database.name", in.Name); err != nil {
				return nil, err
			}
			if in.OwnerID != "" {
				if _, err := userIn(ctx, tx, c, d.ID, in.OwnerID, "database.owner_id"); err != nil {
					return nil, err
				}
			}
			db := &model.Database{Object: s.newObject(c, d.ID), Name: in.Name, OwnerID: in.OwnerID, LcCollate: in.LcCollate, LcCtype: in.LcCtype}
			return db, nil
		})
}

// GetDatabase returns one of the caller's databases.
func (s *Service) GetDatabase(ctx context.Context, c Caller, id string) (*model.Database, error) {
	return getObject(ctx, s, c, databaseKind, id)
}

// ListDatabases lists the caller's databases.
func (s *Service) ListDatabases(ctx context.Context, c Caller, f store.Filter) ([]model.Database, error) {
	return list(ctx, s.store.Databases(), c, f)
}

// UpdateDatabaseOwner gives a database another owner.
func (s *Service) UpdateDatabaseOwner(ctx context.Context, c Caller, id, ownerID string) (*model.Database, error) {
	return change(ctx, s, c, databaseKind, id, databaseKind.Update, func(tx store.Tx, db *model.Database) error {
		if db.Status == model.StatusPendingDelete {
			return Conflict("database_id", "database %s is being deleted", id)
		}
		if _, err := userIn(ctx, tx, c, db.DatastoreID, ownerID, "database.owner_id"); err != nil {
			return err
		}
		db.OwnerID, db.Status, db.UpdatedAt = ownerID, model.StatusPendingUpdate, s.stamp()
		return nil
	})
}

// DeleteDatabase removes a database with its grants and extensions. A
// database with logical replication slots cannot be removed until they are.
func (s *Service) DeleteDatabase(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, databaseKind, id, databaseKind.Delete, func(tx store.Tx, db *model.Database) error {
		slots, err := tx.Slots().List(ctx, store.Filter{DatabaseID: db.ID})
		if err != nil {
			return err
		}
		if len(slots) > 0 {
			return Conflict("database_id", "database %s has logical replication slot %s (%s); delete it first",
				db.Name, slots[0].Name, slots[0].ID)
		}
		db.UpdatedAt = s.stamp()
		return pendingDelete(&db.Status, "database", id)
	})
	return err
}
