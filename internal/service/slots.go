package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func slotsRepo(tx store.Tx) store.Repo[model.Slot] { return tx.Slots() }
func slotProject(s *model.Slot) string             { return s.ProjectID }
func slotDatastore(s *model.Slot) string           { return s.DatastoreID }

// CreateSlot records a new logical replication slot.
func (s *Service) CreateSlot(ctx context.Context, c Caller, dsID, databaseID, name string) (*model.Slot, error) {
	if !slotRe.MatchString(name) {
		return nil, Invalid("logical-replication-slot.name", "must be 1 to 63 lower-case letters, digits or underscores, got %q", name)
	}
	return create(s, ctx, c, slotsRepo, dsID, "logical replication slots", capSlots, store.Usage{}, model.ActSlotCreate,
		"logical-replication-slot", "logical-replication-slot.name",
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.Slot, string, error) {
			if _, err := databaseIn(ctx, tx, c, d.ID, databaseID, "logical-replication-slot.database_id"); err != nil {
				return nil, "", err
			}
			sl := &model.Slot{Base: s.base(c), DatastoreID: d.ID, DatabaseID: databaseID, Name: name,
				Status: model.StatusPendingCreate}
			return sl, sl.ID, nil
		})
}

// GetSlot returns one of the caller's slots.
func (s *Service) GetSlot(ctx context.Context, c Caller, id string) (*model.Slot, error) {
	return owned(ctx, s.store.Slots(), c, id, "logical replication slot", slotProject)
}

// ListSlots lists the caller's slots.
func (s *Service) ListSlots(ctx context.Context, c Caller, f store.Filter) ([]model.Slot, error) {
	return list(ctx, s.store.Slots(), c, f)
}

// DeleteSlot drops a slot.
func (s *Service) DeleteSlot(ctx context.Context, c Caller, id string) error {
	_, err := change(s, ctx, c, slotsRepo, id, "logical replication slot", capSlots, slotProject, slotDatastore,
		model.ActSlotDelete, "logical-replication-slot", func(tx store.Tx, sl *model.Slot) error {
			sl.UpdatedAt = s.stamp()
			return pendingDelete(&sl.Status, "logical replication slot", id)
		})
	return err
}
