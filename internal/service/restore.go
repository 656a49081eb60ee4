package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// copyRestoredObjects gives a datastore restored from src the API records
// of src's users, databases, grants and extensions (PENDING_CREATE), and
// records a repair after the create: the restored data brings most of them
// along, and the repair creates in the engine those the backup predates,
// from their recorded definition. The project's quotas count the copies.
func (s *Service) copyRestoredObjects(ctx context.Context, tx store.Tx, c Caller, srcID string, dst *model.Datastore) error {
	f := store.Filter{DatastoreID: srcID}
	users, err := tx.Users().List(ctx, f)
	if err != nil {
		return err
	}
	dbs, err := tx.Databases().List(ctx, f)
	if err != nil {
		return err
	}
	grants, err := tx.Grants().List(ctx, f)
	if err != nil {
		return err
	}
	exts, err := tx.Extensions().List(ctx, f)
	if err != nil {
		return err
	}
	if len(users)+len(dbs) == 0 {
		return nil
	}
	if err := s.checkQuota(ctx, tx, c.ProjectID, store.Usage{Users: int64(len(users)), Databases: int64(len(dbs))}); err != nil {
		return err
	}
	live := func(status string) bool { return status != model.StatusPendingDelete && status != model.StatusError }
	userIDs, dbIDs := map[string]string{}, map[string]string{}
	for _, u := range users {
		if !live(u.Status) {
			continue
		}
		n := model.User{Object: model.Object{Base: s.base(c), DatastoreID: dst.ID, Status: model.StatusPendingCreate}, Name: u.Name, Password: u.Password}
		if err := tx.Users().Insert(ctx, &n); err != nil {
			return err
		}
		userIDs[u.ID] = n.ID
	}
	for _, d := range dbs {
		if !live(d.Status) {
			continue
		}
		n := model.Database{Object: model.Object{Base: s.base(c), DatastoreID: dst.ID, Status: model.StatusPendingCreate}, Name: d.Name, OwnerID: userIDs[d.OwnerID], LcCollate: d.LcCollate, LcCtype: d.LcCtype}
		if err := tx.Databases().Insert(ctx, &n); err != nil {
			return err
		}
		dbIDs[d.ID] = n.ID
	}
	for _, g := range grants {
		if userIDs[g.UserID] == "" || dbIDs[g.DatabaseID] == "" || !live(g.Status) {
			continue
		}
		n := model.Grant{Object: model.Object{Base: s.base(c), DatastoreID: dst.ID, Status: model.StatusPendingCreate}, DatabaseID: dbIDs[g.DatabaseID], UserID: userIDs[g.UserID]}
		if err := tx.Grants().Insert(ctx, &n); err != nil {
			return err
		}
	}
	for _, e := range exts {
		if dbIDs[e.DatabaseID] == "" || !live(e.Status) {
			continue
		}
		n := model.Extension{Object: model.Object{Base: s.base(c), DatastoreID: dst.ID, Status: model.StatusPendingCreate}, DatabaseID: dbIDs[e.DatabaseID], AvailableExtensionID: e.AvailableExtensionID}
		if err := tx.Extensions().Insert(ctx, &n); err != nil {
			return err
		}
	}
	_, err = s.enqueue(ctx, tx, c, dst.ID, model.ActDatastoreRepair, "datastore", dst.ID, map[string]any{"reason": "restored objects"})
	return err
}
