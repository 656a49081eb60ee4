package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// payloadApplied is the key of an action's payload under which a
// successful converge records the desired state the engines then ran with.
const payloadApplied = "applied"

// RequestRollback is the request ID of the action that restores a
// datastore's last configuration that worked.
const RequestRollback = "dbaasd-rollback"

// applied is the part of a datastore's desired state a change can break
// and a rollback restores: configuration, firewall and pooler.
type applied struct {
	Config   map[string]any `json:"config"`
	Firewall []string       `json:"firewall"`
	Pooler   *model.Pooler  `json:"pooler,omitempty"`
}

func appliedOf(ds *model.Datastore) applied {
	a := applied{Config: ds.Config, Firewall: ds.Firewall}
	if a.Config == nil {
		a.Config = map[string]any{}
	}
	if a.Firewall == nil {
		a.Firewall = []string{}
	}
	if ds.Pooler != nil {
		p := *ds.Pooler
		a.Pooler = &p
	}
	return a
}

// normalized round-trips a through JSON, as it reads back from a payload,
// so two states compare equal whatever their Go types.
func (a applied) normalized() map[string]any {
	var m map[string]any
	b, _ := json.Marshal(a)
	_ = json.Unmarshal(b, &m)
	return m
}

// recordApplied stores, on the action that converged a datastore, the
// state the engines run with now: the last configuration that worked.
func recordApplied(ctx context.Context, tx store.Tx, actionID string, ds *model.Datastore) error {
	a, err := tx.Actions().GetForUpdate(ctx, actionID)
	if err != nil {
		return err
	}
	if a.Payload == nil {
		a.Payload = map[string]any{}
	}
	a.Payload[payloadApplied] = appliedOf(ds).normalized()
	return tx.Actions().Update(ctx, a)
}

// lastApplied finds the last state a converge of the datastore succeeded
// with.
func lastApplied(ctx context.Context, tx store.Tx, dsID string) (*applied, error) {
	acts, err := tx.Actions().List(ctx, store.Filter{DatastoreID: dsID, ResourceType: "datastore", Status: model.ActionSuccess})
	if err != nil {
		return nil, err
	}
	for i := len(acts) - 1; i >= 0; i-- {
		raw, ok := acts[i].Payload[payloadApplied]
		if !ok {
			continue
		}
		b, err := json.Marshal(raw)
		if err != nil {
			continue
		}
		var a applied
		if json.Unmarshal(b, &a) == nil {
			return &a, nil
		}
	}
	return nil, nil
}

// rollback restores a datastore whose change an engine refused (after the
// API accepted it) to the last configuration that worked: the desired
// configuration, firewall and pooler become that state again and an
// update action converges the engines back to it, so the datastore
// returns to ACTIVE instead of staying in ERROR; the failed action keeps
// the engine's error. It reports whether it rolled back; it does not when
// nothing worked before or the failed change was that state already.
func (r *Reconciler) rollback(ctx context.Context, a *model.Action, cause string, log *slog.Logger) (bool, error) {
	if a.Name != model.ActDatastoreUpdate {
		return false, nil
	}
	done := false
	err := r.store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, a.DatastoreID)
		if err != nil {
			return err
		}
		if ds.Deleted || ds.Status == model.StatusPendingDelete {
			return nil
		}
		good, err := lastApplied(ctx, tx, ds.ID)
		if err != nil || good == nil {
			return err
		}
		if reflect.DeepEqual(good.normalized(), appliedOf(ds).normalized()) {
			return nil // the state that failed is the one that worked: nothing to restore
		}
		ds.Config, ds.Firewall = good.Config, good.Firewall
		if ds.Pooler != nil && good.Pooler != nil {
			ds.Pooler = good.Pooler
		}
		now := r.now()
		ds.Generation++
		ds.Status, ds.UpdatedAt = model.StatusPendingUpdate, now
		if err := tx.Datastores().Update(ctx, ds); err != nil {
			return err
		}
		done = true
		log.Warn("an engine refused an accepted change; restoring the last configuration that worked",
			"datastore_id", ds.ID, "error", cause)
		return tx.Actions().Insert(ctx, &model.Action{
			Base:        model.Base{ID: newID(), ProjectID: ds.ProjectID, CreatedAt: now, UpdatedAt: now},
			DatastoreID: ds.ID, Name: model.ActDatastoreUpdate, ResourceType: "datastore", ResourceID: ds.ID,
			Status: model.ActionPending, RequestID: RequestRollback, Payload: map[string]any{"rollback_of": a.ID},
		})
	})
	if err != nil {
		return false, fmt.Errorf("roll back: %w", err)
	}
	if done {
		r.Notify()
	}
	return done, nil
}
