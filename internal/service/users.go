package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// CreateUser records a new database user.
func (s *Service) CreateUser(ctx context.Context, c Caller, dsID, name, password string) (*model.User, error) {
	if err := checkIdent("user.name", name); err != nil {
		return nil, err
	}
	if err := checkPassword("user.password", password); err != nil {
		return nil, err
	}
	return create(ctx, s, c, userKind, dsID,
		func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*model.User, error) {
			if err := s.checkNameWithEngine(typ.Engine, engine.ObjectUser, "user.name", name); err != nil {
				return nil, err
			}
			u := &model.User{Object: s.newObject(c, d.ID), Name: name, Password: password}
			return u, nil
		})
}

// GetUser returns one of the caller's users.
func (s *Service) GetUser(ctx context.Context, c Caller, id string) (*model.User, error) {
	return getObject(ctx, s, c, userKind, id)
}

// ListUsers lists the caller's users.
func (s *Service) ListUsers(ctx context.Context, c Caller, f store.Filter) ([]model.User, error) {
	return list(ctx, s.store.Users(), c, f)
}

// UpdateUserPassword changes a user's password.
func (s *Service) UpdateUserPassword(ctx context.Context, c Caller, id, password string) (*model.User, error) {
	if err := checkPassword("user.password", password); err != nil {
		return nil, err
	}
	return change(ctx, s, c, userKind, id, userKind.Update,
		func(tx store.Tx, u *model.User) error {
			if u.Status == model.StatusPendingDelete {
				return Conflict("user_id", "user %s is being deleted", id)
			}
			u.Password, u.Status, u.UpdatedAt = password, model.StatusPendingUpdate, s.stamp()
			return nil
		})
}

// DeleteUser removes a user. A user that owns a database cannot be removed
// until the database has another owner; its grants and ACLs go with it.
func (s *Service) DeleteUser(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, userKind, id, userKind.Delete,
		func(tx store.Tx, u *model.User) error {
			owns, err := tx.Databases().List(ctx, store.Filter{OwnerID: u.ID})
			if err != nil {
				return err
			}
			if len(owns) > 0 {
				return Conflict("user_id", "user %s owns database %s (%s); give the database another owner or delete it first",
					u.Name, owns[0].Name, owns[0].ID)
			}
			u.UpdatedAt = s.stamp()
			return pendingDelete(&u.Status, "user", id)
		})
	return err
}
