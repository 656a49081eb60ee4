package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// CreateSlot records a new logical replication slot.
func (s *Service) CreateSlot(ctx context.Context, c Caller, dsID, databaseID, name string) (*model.Slot, error) {
	if !slotRe.MatchString(name) {
		return nil, Invalid("logical-replication-slot.name", "must be 1 to 63 lower-case letters, digits or underscores, got %q", name)
	}
	return create(ctx, s, c, slotKind, dsID,
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.Slot, error) {
			if _, err := databaseIn(ctx, tx, c, d.ID, databaseID, "logical-replication-slot.database_id"); err != nil {
				return nil, err
			}
			sl := &model.Slot{Object: s.newObject(c, d.ID), DatabaseID: databaseID, Name: name}
			return sl, nil
		})
}

// GetSlot returns one of the caller's slots.
func (s *Service) GetSlot(ctx context.Context, c Caller, id string) (*model.Slot, error) {
	return getObject(ctx, s, c, slotKind, id)
}

// ListSlots lists the caller's slots.
func (s *Service) ListSlots(ctx context.Context, c Caller, f store.Filter) ([]model.Slot, error) {
	return list(ctx, s.store.Slots(), c, f)
}

// DeleteSlot drops a slot.
func (s *Service) DeleteSlot(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, slotKind, id, slotKind.Delete, func(tx store.Tx, sl *model.Slot) error {
		sl.UpdatedAt = s.stamp()
		return pendingDelete(&sl.Status, "logical replication slot", id)
	})
	return err
}
