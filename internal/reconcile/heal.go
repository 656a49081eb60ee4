package reconcile

import (
	"context"
	"strings"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// RequestHeal is the request ID of the actions a repair records to retry
// the objects whose last action failed.
const RequestHeal = "dbaasd-heal"

// retryFailedObjects records, in tx, as a repair brings a datastore back,
// a new try of every object action that failed last (a user created while
// the datastore was down, a database whose removal met a stopped server),
// and shows the object as under way again: the object then converges like
// any other instead of staying in ERROR. It returns how many it recorded.
func (r *Reconciler) retryFailedObjects(ctx context.Context, tx store.Tx, dsID string) (int, error) {
	acts, err := tx.Actions().List(ctx, store.Filter{DatastoreID: dsID})
	if err != nil {
		return 0, err
	}
	last := map[string]model.Action{} // by resource; oldest first, so the latest wins
	var order []string
	for _, a := range acts {
		if a.ResourceType == "datastore" || a.ResourceID == "" || objectActions[a.Name].kind == nil {
			continue
		}
		key := a.ResourceType + "/" + a.ResourceID
		if _, seen := last[key]; !seen {
			order = append(order, key)
		}
		last[key] = a
	}
	now := r.now()
	n := 0
	for _, key := range order {
		a := last[key]
		k := kindByResource[a.ResourceType]
		if a.Status != model.ActionError || k == nil {
			continue
		}
		if err := tx.Actions().Insert(ctx, &model.Action{
			Base:        model.Base{ID: newID(), ProjectID: a.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: dsID, Name: a.Name, ResourceType: a.ResourceType, ResourceID: a.ResourceID,
			Status: model.ActionPending, RequestID: RequestHeal, Payload: a.Payload,
		}); err != nil {
			return n, err
		}
		if err := k.setStatus(ctx, tx, a.ResourceID, pendingStatusOf(a.Name), now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// pendingStatusOf is the status of an object whose action of this name is
// under way.
func pendingStatusOf(action string) string {
	switch {
	case strings.HasSuffix(action, ".create"):
		return model.StatusPendingCreate
	case strings.HasSuffix(action, ".delete"):
		return model.StatusPendingDelete
	}
	return model.StatusPendingUpdate
}
