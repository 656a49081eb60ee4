package compat_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/google/uuid"
	dbaas "github.com/selectel/dbaas-go"
)

// pgState is what the provider keeps in state for a PostgreSQL datastore
// (selectel_dbaas_postgresql_datastore_v1) and compares with each read.
type pgState struct {
	name, projectID, subnetID, typeID, flavorID string
	nodeCount, backupRetentionDays              int
	flavor                                      dbaas.Flavor
	config                                      map[string]string
	firewall                                    []string
}

// checkNoDrift reads the datastore as the provider's Read does and fails
// on any field that differs from what the provider sent: the provider
// would plan a change (or a replacement) on the next run.
func checkNoDrift(t *testing.T, s *session, id string, want pgState) dbaas.Datastore {
	t.Helper()
	ds, err := s.api.Datastore(context.Background(), id)
	check(t, "read the datastore", err)
	got := pgState{
		name: ds.Name, projectID: ds.ProjectID, subnetID: ds.SubnetID, typeID: ds.TypeID, flavorID: ds.FlavorID,
		nodeCount: ds.NodeCount, backupRetentionDays: ds.BackupRetentionDays, config: stringConfig(ds.Config),
		flavor: dbaas.Flavor{Vcpus: ds.Flavor.Vcpus, RAM: ds.Flavor.RAM, Disk: ds.Flavor.Disk},
	}
	for _, f := range ds.Firewall {
		got.firewall = append(got.firewall, f.IP)
	}
	if got.name != want.name || got.projectID != want.projectID || got.subnetID != want.subnetID ||
		got.typeID != want.typeID || got.nodeCount != want.nodeCount || got.backupRetentionDays != want.backupRetentionDays {
		t.Errorf("drift in scalar fields:\n got %+v\nwant %+v", got, want)
	}
	// flavor_id is Optional+Computed: whatever comes back is kept, but a
	// datastore created from a custom flavor must not claim one it was not sent.
	if want.flavorID != "" && got.flavorID != want.flavorID {
		t.Errorf("flavor_id %q, want %q", got.flavorID, want.flavorID)
	}
	if got.flavor != want.flavor {
		t.Errorf("flavor %+v, want %+v", got.flavor, want.flavor)
	}
	if !maps.Equal(got.config, want.config) {
		t.Errorf("config %v, want %v", got.config, want.config)
	}
	slices.Sort(got.firewall)
	slices.Sort(want.firewall)
	if !slices.Equal(got.firewall, want.firewall) {
		t.Errorf("firewall %v, want %v", got.firewall, want.firewall)
	}
	if ds.Connection["master"] == "" || len(ds.Instances) != want.nodeCount {
		t.Errorf("connection %v, instances %+v", ds.Connection, ds.Instances)
	}
	for _, in := range ds.Instances {
		if in.ID == "" || (in.Role != "MASTER" && in.Role != "REPLICA") {
			t.Errorf("instance %+v", in)
		}
	}
	return ds
}

// TestPostgreSQLAsTheProvider plays selectel_dbaas_postgresql_datastore_v1
// and the resources that live in it (user, database, grant, extension,
// logical replication slot) through their whole life.
func TestPostgreSQLAsTheProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := start(t, true, 0)
	ctx := context.Background()
	s := mustLogin(t, e, projectP)

	// data "selectel_dbaas_datastore_type_v1" + the provider's type check.
	types, err := s.api.DatastoreTypes(ctx)
	check(t, "datastore types", err)
	dt, err := s.api.DatastoreType(ctx, typeOf(t, types, "postgresql").ID)
	check(t, "datastore type", err)

	// Create: the provider sends its map of strings; the SDK turns values
	// that look like numbers and booleans into numbers and booleans.
	want := pgState{
		name: "tf-pg", projectID: projectP, subnetID: uuid.NewString(), typeID: dt.ID, nodeCount: 1,
		backupRetentionDays: 7, flavor: dbaas.Flavor{Vcpus: 1, RAM: 1024, Disk: 5},
		config: map[string]string{"log_min_duration_statement": "250", "random_page_cost": "1.5",
			"enable_seqscan": "false", "log_statement": "ddl"},
	}
	created, err := s.api.CreateDatastore(ctx, dbaas.DatastoreCreateOpts{
		Name: want.name, TypeID: want.typeID, SubnetID: want.subnetID, NodeCount: want.nodeCount,
		Flavor: &want.flavor, Config: anyMap(want.config), BackupRetentionDays: want.backupRetentionDays,
	})
	check(t, "create the datastore", err)
	id := created.ID
	getDS := func(ctx context.Context) (dbaas.Status, error) {
		ds, err := s.api.Datastore(ctx, id)
		return ds.Status, err
	}
	waitActive(t, "datastore", datastorePending, getDS)
	checkNoDrift(t, s, id, want)

	// Update, in the provider's order: name, pooler, firewall, config, backups.
	want.name = "tf-pg-renamed"
	_, err = s.api.UpdateDatastore(ctx, id, dbaas.DatastoreUpdateOpts{Name: want.name})
	check(t, "rename", err)
	waitActive(t, "datastore after rename", datastorePending, getDS)

	_, err = s.api.PoolerDatastore(ctx, id, dbaas.DatastorePoolerOpts{Mode: "session", Size: 20})
	check(t, "pooler", err)
	waitActive(t, "datastore after pooler", datastorePending, getDS)

	want.firewall = []string{"127.0.0.1", "10.20.0.0/16"}
	_, err = s.api.FirewallDatastore(ctx, id, dbaas.DatastoreFirewallOpts{IPs: want.firewall})
	check(t, "firewall", err)
	waitActive(t, "datastore after firewall", datastorePending, getDS)

	// The provider's config update: read the datastore, send the state's
	// map with every key it no longer has set to null.
	newConfig := map[string]string{"log_min_duration_statement": "500", "enable_seqscan": "true",
		"log_statement": "ddl", "jit": "false"}
	current, err := s.api.Datastore(ctx, id)
	check(t, "read before config", err)
	send := anyMap(newConfig)
	for k := range current.Config {
		if _, ok := send[k]; !ok {
			send[k] = nil
		}
	}
	if _, ok := send["random_page_cost"]; !ok {
		t.Fatalf("the removed key is not sent as null: %v", send)
	}
	_, err = s.api.ConfigDatastore(ctx, id, dbaas.DatastoreConfigOpts{Config: send})
	check(t, "config", err)
	waitActive(t, "datastore after config", datastorePending, getDS)
	want.config = newConfig

	want.backupRetentionDays = 14
	_, err = s.api.BackupsDatastore(ctx, id, dbaas.DatastoreBackupsOpts{BackupRetentionDays: want.backupRetentionDays})
	check(t, "backups", err)
	waitActive(t, "datastore after backups", datastorePending, getDS)
	ds := checkNoDrift(t, s, id, want)
	if ds.Pooler.Mode != "session" || ds.Pooler.Size != 20 {
		t.Errorf("pooler %+v", ds.Pooler)
	}

	// selectel_dbaas_firewall_v1 is destroyed by an empty list.
	want.firewall = nil
	_, err = s.api.FirewallDatastore(ctx, id, dbaas.DatastoreFirewallOpts{IPs: []string{}})
	check(t, "clear the firewall", err)
	waitActive(t, "datastore after clearing the firewall", datastorePending, getDS)
	checkNoDrift(t, s, id, want)

	objects := pgObjects(t, s, id)

	// Destroy in reverse dependency order, each delete waited to 404.
	for _, o := range objects {
		check(t, "delete "+o.what, o.del(ctx))
		waitDeleted(t, o.what, func(ctx context.Context) error { _, err := o.get(ctx); return err })
	}
	check(t, "delete the datastore", s.api.DeleteDatastore(ctx, id))
	waitDeleted(t, "datastore", func(ctx context.Context) error { _, err := s.api.Datastore(ctx, id); return err })
}

// pgObject is a resource created in the datastore, for its destruction.
type pgObject struct {
	what string
	get  func(context.Context) (dbaas.Status, error)
	del  func(context.Context) error
}

// pgObjects creates, updates and checks a user, a database, a grant, an
// extension and a logical replication slot as the provider does; it
// returns them in the order the provider destroys them.
func pgObjects(t *testing.T, s *session, dsID string) []pgObject {
	t.Helper()
	ctx := context.Background()
	api := s.api

	// selectel_dbaas_user_v1 (two: one owns the database, one gets a grant).
	var userIDs []string
	for _, name := range []string{"tf_owner", "tf_reader"} {
		u, err := api.CreateUser(ctx, dbaas.UserCreateOpts{Name: name, Password: "Tf-user-pass-1", DatastoreID: dsID})
		check(t, "create user "+name, err)
		waitActive(t, "user "+name, objectPending, func(ctx context.Context) (dbaas.Status, error) {
			u, err := api.User(ctx, u.ID)
			return u.Status, err
		})
		got, err := api.User(ctx, u.ID)
		check(t, "read user", err)
		if got.Name != name || got.DatastoreID != dsID || got.ProjectID != projectP {
			t.Errorf("user drift: %+v", got)
		}
		userIDs = append(userIDs, u.ID)
	}
	owner, reader := userIDs[0], userIDs[1]
	_, err := api.UpdateUser(ctx, reader, dbaas.UserUpdateOpts{Password: "Tf-user-pass-2"})
	check(t, "change a user's password", err)
	waitActive(t, "user after password change", objectPending, func(ctx context.Context) (dbaas.Status, error) {
		u, err := api.User(ctx, reader)
		return u.Status, err
	})

	// selectel_dbaas_postgresql_database_v1 with an owner and a locale.
	db, err := api.CreateDatabase(ctx, dbaas.DatabaseCreateOpts{DatastoreID: dsID, Name: "tf_db", OwnerID: owner,
		LcCollate: "C", LcCtype: "C"})
	check(t, "create database", err)
	getDB := func(ctx context.Context) (dbaas.Status, error) {
		d, err := api.Database(ctx, db.ID)
		return d.Status, err
	}
	waitActive(t, "database", objectPending, getDB)
	gotDB, err := api.Database(ctx, db.ID)
	check(t, "read database", err)
	if gotDB.Name != "tf_db" || gotDB.DatastoreID != dsID || gotDB.OwnerID != owner || gotDB.LcCollate != "C" || gotDB.LcCtype != "C" {
		t.Errorf("database drift: %+v", gotDB)
	}

	// selectel_dbaas_grant_v1.
	grant, err := api.CreateGrant(ctx, dbaas.GrantCreateOpts{DatastoreID: dsID, DatabaseID: db.ID, UserID: reader})
	check(t, "create grant", err)
	getGrant := func(ctx context.Context) (dbaas.Status, error) {
		g, err := api.Grant(ctx, grant.ID)
		return g.Status, err
	}
	waitActive(t, "grant", objectPending, getGrant)
	gotGrant, err := api.Grant(ctx, grant.ID)
	check(t, "read grant", err)
	if gotGrant.DatabaseID != db.ID || gotGrant.UserID != reader || gotGrant.DatastoreID != dsID {
		t.Errorf("grant drift: %+v", gotGrant)
	}

	// selectel_dbaas_postgresql_extension_v1, the available extension found
	// by name as the data source does.
	avail, err := api.AvailableExtensions(ctx)
	check(t, "available extensions", err)
	i := slices.IndexFunc(avail, func(a dbaas.AvailableExtension) bool { return a.Name == "pgcrypto" })
	if i < 0 {
		t.Fatal("pgcrypto is not available")
	}
	ext, err := api.CreateExtension(ctx, dbaas.ExtensionCreateOpts{AvailableExtensionID: avail[i].ID, DatastoreID: dsID, DatabaseID: db.ID})
	check(t, "create extension", err)
	getExt := func(ctx context.Context) (dbaas.Status, error) {
		x, err := api.Extension(ctx, ext.ID)
		return x.Status, err
	}
	waitActive(t, "extension", objectPending, getExt)
	gotExt, err := api.Extension(ctx, ext.ID)
	check(t, "read extension", err)
	if gotExt.AvailableExtensionID != avail[i].ID || gotExt.DatabaseID != db.ID || gotExt.DatastoreID != dsID {
		t.Errorf("extension drift: %+v", gotExt)
	}

	// selectel_dbaas_postgresql_logical_replication_slot_v1.
	slot, err := api.CreateLogicalReplicationSlot(ctx, dbaas.LogicalReplicationSlotCreateOpts{Name: "tf_slot", DatastoreID: dsID, DatabaseID: db.ID})
	check(t, "create slot", err)
	getSlot := func(ctx context.Context) (dbaas.Status, error) {
		x, err := api.LogicalReplicationSlot(ctx, slot.ID)
		return x.Status, err
	}
	waitActive(t, "slot", objectPending, getSlot)
	gotSlot, err := api.LogicalReplicationSlot(ctx, slot.ID)
	check(t, "read slot", err)
	if gotSlot.Name != "tf_slot" || gotSlot.DatabaseID != db.ID || gotSlot.DatastoreID != dsID {
		t.Errorf("slot drift: %+v", gotSlot)
	}

	getUser := func(id string) func(context.Context) (dbaas.Status, error) {
		return func(ctx context.Context) (dbaas.Status, error) { u, err := api.User(ctx, id); return u.Status, err }
	}
	return []pgObject{
		{"slot", getSlot, func(ctx context.Context) error { return api.DeleteLogicalReplicationSlot(ctx, slot.ID) }},
		{"extension", getExt, func(ctx context.Context) error { return api.DeleteExtension(ctx, ext.ID) }},
		{"grant", getGrant, func(ctx context.Context) error { return api.DeleteGrant(ctx, grant.ID) }},
		{"database", getDB, func(ctx context.Context) error { return api.DeleteDatabase(ctx, db.ID) }},
		{"user tf_reader", getUser(reader), func(ctx context.Context) error { return api.DeleteUser(ctx, reader) }},
		{"user tf_owner", getUser(owner), func(ctx context.Context) error { return api.DeleteUser(ctx, owner) }},
	}
}

// anyMap is the provider's config map (map[string]interface{} of strings).
func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
