package compat_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	dbaas "github.com/selectel/dbaas-go"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// objectChangesBesideAFirewallUpdate sends what Terraform sends when
// selectel_dbaas_firewall_v1 and selectel_dbaas_user_v1 of one datastore
// are applied (and destroyed) together: a firewall update and a user
// create at the same moment. Both succeed, the user is queued behind the
// firewall and exists in the engine, and the destroy pair succeeds too.
// A datastore being deleted refuses new objects, saying why.
func objectChangesBesideAFirewallUpdate(t *testing.T, e *at.Env) {
	ctx := context.Background()
	s := mustLogin(t, e, projectP)
	api := s.api
	types, err := api.DatastoreTypes(ctx)
	check(t, "datastore types", err)
	ds, getDS := createDatastore(t, s, dbaas.DatastoreCreateOpts{Name: "race", TypeID: typeOf(t, types, "postgresql").ID,
		SubnetID: uuid.NewString(), NodeCount: 1, Flavor: &dbaas.Flavor{Vcpus: 1, RAM: 1024, Disk: 5}})

	// Both at once, as two goroutines of Terraform's walk.
	together := func(a, b func() error) (error, error) {
		var wg sync.WaitGroup
		var errA, errB error
		startGate := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-startGate; errA = a() }()
		go func() { defer wg.Done(); <-startGate; errB = b() }()
		close(startGate)
		wg.Wait()
		return errA, errB
	}
	var u dbaas.User
	errFW, errUser := together(
		func() error {
			_, err := api.FirewallDatastore(ctx, ds.ID, dbaas.DatastoreFirewallOpts{IPs: []string{"127.0.0.1"}})
			return err
		},
		func() (err error) {
			u, err = api.CreateUser(ctx, dbaas.UserCreateOpts{DatastoreID: ds.ID, Name: "beside", Password: "Beside-pass-1"})
			return err
		})
	check(t, "firewall update", errFW)
	check(t, "user create beside it", errUser)
	if u.Status != dbaas.StatusPendingCreate {
		t.Errorf("the user answers %s, want PENDING_CREATE", u.Status)
	}
	getUser := func(ctx context.Context) (dbaas.Status, error) { x, err := api.User(ctx, u.ID); return x.Status, err }
	waitActive(t, "user", objectPending, getUser)
	waitActive(t, "datastore", datastorePending, getDS)
	got, err := api.Datastore(ctx, ds.ID)
	check(t, "read the datastore", err)
	if len(got.Firewall) != 1 || got.Firewall[0].IP != "127.0.0.1" {
		t.Errorf("firewall %+v", got.Firewall)
	}
	if err := pgQuery(got.Connection["master"], "beside", "Beside-pass-1", "postgres"); err != nil &&
		!strings.Contains(err.Error(), "permission denied for database") {
		t.Errorf("the user does not exist in the engine: %v", err)
	}

	// terraform destroy: the firewall cleared and the user deleted at once.
	errFW, errUser = together(
		func() error {
			_, err := api.FirewallDatastore(ctx, ds.ID, dbaas.DatastoreFirewallOpts{IPs: []string{}})
			return err
		},
		func() error { return api.DeleteUser(ctx, u.ID) })
	check(t, "firewall cleared", errFW)
	check(t, "user deleted beside it", errUser)
	waitDeleted(t, "user", func(ctx context.Context) error { _, err := api.User(ctx, u.ID); return err })
	waitActive(t, "datastore", datastorePending, getDS)

	check(t, "delete the datastore", api.DeleteDatastore(ctx, ds.ID))
	_, err = api.CreateUser(ctx, dbaas.UserCreateOpts{DatastoreID: ds.ID, Name: "late", Password: "Late-pass-1"})
	if apiStatus(err) != 400 || !strings.Contains(err.Error(), "being deleted") {
		t.Errorf("a user in a datastore being deleted: %v, want 400 saying it is being deleted", err)
	}
	waitDeleted(t, "datastore", func(ctx context.Context) error { _, err := api.Datastore(ctx, ds.ID); return err })
}

// pgQuery connects to a PostgreSQL address as a user and runs a query.
func pgQuery(addr, user, pass, db string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable", host, port, user, pass, db))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}
