package service

import (
	"context"
	"errors"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// CreateExtension installs an available extension in a database.
func (s *Service) CreateExtension(ctx context.Context, c Caller, dsID, databaseID, availableID string) (*model.Extension, error) {
	return create(ctx, s, c, extensionKind, dsID,
		func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (*model.Extension, error) {
			ae, err := tx.AvailableExtensions().Get(ctx, availableID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, Invalid("extension.available_extension_id", "no available extension %s", availableID)
			}
			if err != nil {
				return nil, err
			}
			if !contains(ae.DatastoreTypeIDs, typ.ID) {
				return nil, Invalid("extension.available_extension_id", "extension %s is not available for %s %s",
					ae.Name, typ.Engine, typ.Version)
			}
			if _, err := databaseIn(ctx, tx, c, d.ID, databaseID, "extension.database_id"); err != nil {
				return nil, err
			}
			e := &model.Extension{Object: s.newObject(c, d.ID), DatabaseID: databaseID, AvailableExtensionID: availableID}
			return e, nil
		})
}

// GetExtension returns one of the caller's extensions.
func (s *Service) GetExtension(ctx context.Context, c Caller, id string) (*model.Extension, error) {
	return getObject(ctx, s, c, extensionKind, id)
}

// ListExtensions lists the caller's extensions.
func (s *Service) ListExtensions(ctx context.Context, c Caller, f store.Filter) ([]model.Extension, error) {
	return list(ctx, s.store.Extensions(), c, f)
}

// DeleteExtension removes an extension; one that another installed
// extension of the same database depends on cannot be removed first.
func (s *Service) DeleteExtension(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, extensionKind, id, extensionKind.Delete, func(tx store.Tx, e *model.Extension) error {
		siblings, err := tx.Extensions().List(ctx, store.Filter{DatabaseID: e.DatabaseID})
		if err != nil {
			return err
		}
		for _, o := range siblings {
			if o.ID == e.ID || o.Status == model.StatusPendingDelete {
				continue
			}
			ae, err := tx.AvailableExtensions().Get(ctx, o.AvailableExtensionID)
			if err != nil {
				continue
			}
			if contains(ae.DependencyIDs, e.AvailableExtensionID) {
				return Conflict("extension_id", "extension %s (%s) depends on it; delete that first", ae.Name, o.ID)
			}
		}
		e.UpdatedAt = s.stamp()
		return pendingDelete(&e.Status, "extension", id)
	})
	return err
}
