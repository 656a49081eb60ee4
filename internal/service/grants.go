package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// CreateGrant gives a user full use of a database.
func (s *Service) CreateGrant(ctx context.Context, c Caller, dsID, databaseID, userID string) (*model.Grant, error) {
	return create(ctx, s, c, grantKind, dsID,
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.Grant, error) {
			if _, err := databaseIn(ctx, tx, c, d.ID, databaseID, "grant.database_id"); err != nil {
				return nil, err
			}
			if _, err := userIn(ctx, tx, c, d.ID, userID, "grant.user_id"); err != nil {
				return nil, err
			}
			g := &model.Grant{Object: s.newObject(c, d.ID), DatabaseID: databaseID, UserID: userID}
			return g, nil
		})
}

// GetGrant returns one of the caller's grants.
func (s *Service) GetGrant(ctx context.Context, c Caller, id string) (*model.Grant, error) {
	return getObject(ctx, s, c, grantKind, id)
}

// ListGrants lists the caller's grants.
func (s *Service) ListGrants(ctx context.Context, c Caller, f store.Filter) ([]model.Grant, error) {
	return list(ctx, s.store.Grants(), c, f)
}

// DeleteGrant takes a user's access to a database away.
func (s *Service) DeleteGrant(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, grantKind, id, grantKind.Delete,
		func(tx store.Tx, g *model.Grant) error {
			g.UpdatedAt = s.stamp()
			return pendingDelete(&g.Status, "grant", id)
		})
	return err
}
