package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func usersRepo(tx store.Tx) store.Repo[model.User] { return tx.Users() }
func userProject(u *model.User) string             { return u.ProjectID }
func userDatastore(u *model.User) string           { return u.DatastoreID }

// CreateUser records a new database user.
func (s *Service) CreateUser(ctx context.Context, c Caller, dsID, name, password string) (*model.User, error) {
	if err := checkIdent("user.name", name); err != nil {
		return nil, err
	}
	if err := checkPassword("user.password", password); err != nil {
		return nil, err
	}
	return create(s, ctx, c, usersRepo, dsID, "users", capUsers, store.Usage{Users: 1}, model.ActUserCreate, "user", "user.name",
		func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*model.User, string, error) {
			if err := s.checkNameWithEngine(typ.Engine, engine.ObjectUser, "user.name", name); err != nil {
				return nil, "", err
			}
			u := &model.User{Base: s.base(c), DatastoreID: d.ID, Name: name, Password: password, Status: model.StatusPendingCreate}
			return u, u.ID, nil
		})
}

// GetUser returns one of the caller's users.
func (s *Service) GetUser(ctx context.Context, c Caller, id string) (*model.User, error) {
	return owned(ctx, s.store.Users(), c, id, "user", userProject)
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
	return change(s, ctx, c, usersRepo, id, "user", capUsers, userProject, userDatastore, model.ActUserUpdate, "user",
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
	_, err := change(s, ctx, c, usersRepo, id, "user", capUsers, userProject, userDatastore, model.ActUserDelete, "user",
		func(tx store.Tx, u *model.User) error {
			owns, err := tx.Databases().List(ctx, store.Filter{"owner_id": u.ID})
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
