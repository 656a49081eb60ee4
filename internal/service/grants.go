package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func grantsRepo(tx store.Tx) store.Repo[model.Grant] { return tx.Grants() }
func grantProject(g *model.Grant) string             { return g.ProjectID }
func grantDatastore(g *model.Grant) string           { return g.DatastoreID }

// CreateGrant gives a user full use of a database.
func (s *Service) CreateGrant(ctx context.Context, c Caller, dsID, databaseID, userID string) (*model.Grant, error) {
	return create(s, ctx, c, grantsRepo, dsID, "grants", capDatabases, store.Usage{}, model.ActGrantCreate, "grant", "grant.user_id",
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.Grant, string, error) {
			if _, err := databaseIn(ctx, tx, c, d.ID, databaseID, "grant.database_id"); err != nil {
				return nil, "", err
			}
			if _, err := userIn(ctx, tx, c, d.ID, userID, "grant.user_id"); err != nil {
				return nil, "", err
			}
			g := &model.Grant{Base: s.base(c), DatastoreID: d.ID, DatabaseID: databaseID, UserID: userID,
				Status: model.StatusPendingCreate}
			return g, g.ID, nil
		})
}

// GetGrant returns one of the caller's grants.
func (s *Service) GetGrant(ctx context.Context, c Caller, id string) (*model.Grant, error) {
	return owned(ctx, s.store.Grants(), c, id, "grant", grantProject)
}

// ListGrants lists the caller's grants.
func (s *Service) ListGrants(ctx context.Context, c Caller, f store.Filter) ([]model.Grant, error) {
	return list(ctx, s.store.Grants(), c, f)
}

// DeleteGrant takes a user's access to a database away.
func (s *Service) DeleteGrant(ctx context.Context, c Caller, id string) error {
	_, err := change(s, ctx, c, grantsRepo, id, "grant", capDatabases, grantProject, grantDatastore, model.ActGrantDelete, "grant",
		func(tx store.Tx, g *model.Grant) error {
			g.UpdatedAt = s.stamp()
			return pendingDelete(&g.Status, "grant", id)
		})
	return err
}
