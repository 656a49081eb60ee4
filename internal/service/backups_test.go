package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// TestUpdateBackupsReachesEnginesThatPrune: a change of the retention is
// an update action for an engine that prunes its backups itself (the
// operator's object store on Kubernetes), and only a record for one whose
// backups dbaasd prunes; the same value again is no action either way.
func TestUpdateBackupsReachesEnginesThatPrune(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retention  bool
		days       int
		wantAction bool
	}{
		{"engine prunes", true, 3, true},
		{"engine prunes, same value", true, 7, false},
		{"dbaasd prunes", false, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, st, _, ds, project := oneDatastore(t, "postgresql", Capabilities{Retention: tc.retention})
			v, err := svc.UpdateBackups(ctx, Caller{ProjectID: project}, ds.ID, tc.days)
			if err != nil {
				t.Fatal(err)
			}
			if v.BackupRetentionDays != tc.days {
				t.Errorf("retention %d days after the update, want %d", v.BackupRetentionDays, tc.days)
			}
			actions, err := st.Actions().List(ctx, store.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(actions) == 1 && actions[0].Name == model.ActDatastoreUpdate; got != tc.wantAction || len(actions) > 1 {
				t.Errorf("actions %+v; want an update action: %v", actions, tc.wantAction)
			}
			wantStatus := model.StatusActive
			if tc.wantAction {
				wantStatus = model.StatusPendingUpdate
			}
			if v.Status != wantStatus {
				t.Errorf("status %s, want %s", v.Status, wantStatus)
			}
		})
	}
}

// TestRestoreNeedsAnEngineThatBacksUp: a restore from a datastore without
// a backup is refused either way, and the answer says whether one will
// come (the engine backs up) or never can (it does not, on this
// deployment: MySQL on Kubernetes).
func TestRestoreNeedsAnEngineThatBacksUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		backups bool
		want    string
	}{{true, "has no backup to restore from yet"}, {false, "mysql_native datastores have no backups on this deployment"}} {
		ctx := context.Background()
		svc, st, typ, src, project := oneDatastore(t, "mysql_native", Capabilities{Users: true, Databases: true, Backups: tc.backups})
		err := st.InTx(ctx, func(tx store.Tx) error {
			return svc.checkRestore(ctx, tx, Caller{ProjectID: project}, typ, &model.Restore{DatastoreID: src.ID})
		})
		var se *Error
		if !errors.As(err, &se) || se.Kind != KindInvalid || se.Field != "restore.datastore_id" || !strings.Contains(se.Message, tc.want) {
			t.Errorf("backups=%v: restore from a datastore without a backup: %v, want a refusal saying %q", tc.backups, err, tc.want)
		}
	}
}

// oneDatastore is a store holding a project with one ACTIVE datastore of
// engine, and the service over it with caps for that engine.
func oneDatastore(t *testing.T, eng string, caps Capabilities) (*Service, store.Store, *model.DatastoreType, *model.Datastore, string) {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "", t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	project := "0123456789abcdef0123456789abcdef"
	typ := &model.DatastoreType{ID: uuid.NewString(), Engine: eng, Version: "1"}
	ds := &model.Datastore{Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: now, UpdatedAt: now},
		Name: "ds", TypeID: typ.ID, FlavorID: uuid.NewString(), NodeCount: 1, Status: model.StatusActive,
		Enabled: true, Generation: 1, BackupRetentionDays: 7}
	err = st.InTx(ctx, func(tx store.Tx) error {
		return errors.Join(tx.Projects().Insert(ctx, &model.Project{ID: project, Name: "p", CreatedAt: now}),
			tx.DatastoreTypes().Insert(ctx, typ), tx.Datastores().Insert(ctx, ds))
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(st, Config{Capabilities: map[string]Capabilities{eng: caps}}, slog.New(slog.DiscardHandler), nil)
	return svc, st, typ, ds, project
}
