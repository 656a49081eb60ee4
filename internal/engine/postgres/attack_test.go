package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// A tenant holds a user with a grant on a database (what the API gives)
// and a SQL connection. Each attack below is a way a tenant's objects could
// get the superuser's rights through what dbaasd runs as the superuser; none
// may leave the tenant a superuser, and what dbaasd was asked to do still
// happens.
func TestTenantCannotBecomeSuperuser(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 1)
	ctx := enginetest.Ctx(t)
	n := c.Nodes[0]
	alice := engine.User{Name: "alice", Password: "Alice-pass-123"}
	bob := engine.User{Name: "bob", Password: "Bob-pass-1234"}
	db := engine.Database{Name: "appdb", Owner: alice.Name}
	for _, err := range []error{
		d.EnsureUser(ctx, c, alice), d.EnsureUser(ctx, c, bob), d.EnsureDatabase(ctx, c, db),
		d.EnsureGrant(ctx, c, engine.Grant{User: bob.Name, Database: db.Name}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	as := func(u engine.User) *pgx.Conn {
		t.Helper()
		conn, err := clientConn(ctx, n.Host, n.Port, u.Name, u.Password, db.Name, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		return conn
	}
	exec := func(conn *pgx.Conn, sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	super := superConn(t, &n, db.Name)
	// notSuper reports a tenant that became a superuser, and takes it
	// back, so that each attack is judged on its own.
	notSuper := func(what string) {
		t.Helper()
		if got := queryString(t, super, "SELECT coalesce(string_agg(rolname, ','), '') FROM pg_roles WHERE rolsuper AND rolname <> 'postgres'"); got != "" {
			t.Errorf("%s: %s became a superuser", what, got)
			for _, u := range strings.Split(got, ",") {
				if _, err := super.Exec(ctx, "ALTER ROLE "+ident(u)+" NOSUPERUSER"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	const escalate = "ALTER ROLE alice SUPERUSER"

	// 1. A function in public that an unqualified call of dbaasd's would
	// pick up (text arguments match better than pg_catalog's name ones).
	exec(as(alice), `CREATE FUNCTION public.pg_create_logical_replication_slot(text, text) RETURNS record
		LANGUAGE plpgsql AS $$ BEGIN EXECUTE '`+escalate+`'; RETURN NULL; END $$`)
	if err := d.EnsureSlot(ctx, c, engine.Slot{Name: "attack_slot", Database: db.Name}); err != nil {
		t.Fatalf("EnsureSlot: %v", err)
	}
	notSuper("slot creation")
	if queryString(t, super, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = 'attack_slot'") != "1" {
		t.Error("the real slot was not created")
	}

	// 2. A SECURITY DEFINER function of a user that is then deleted: its
	// objects must not become the superuser's.
	exec(as(bob), `CREATE FUNCTION public.escalate() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
		AS $$ BEGIN EXECUTE '`+escalate+`'; END $$; GRANT EXECUTE ON FUNCTION public.escalate() TO PUBLIC`)
	if err := d.DropUser(ctx, c, bob.Name); err != nil {
		t.Fatalf("DropUser: %v", err)
	}
	if _, err := as(alice).Exec(ctx, "SELECT public.escalate()"); err == nil {
		t.Error("the deleted user's SECURITY DEFINER function ran with the right to make a superuser")
	}
	notSuper("a deleted user's function")
	if owner := queryString(t, super, "SELECT pg_get_userbyid(proowner)::text FROM pg_proc WHERE proname = 'escalate'"); owner != alice.Name {
		t.Errorf("the deleted user's function belongs to %s, want the database owner %s", owner, alice.Name)
	}
	if err := d.EnsureUser(ctx, c, bob); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureGrant(ctx, c, engine.Grant{User: bob.Name, Database: db.Name}); err != nil {
		t.Fatal(err)
	}

	// 3. dblink_connect_u connects without a password check; its EXECUTE is
	// revoked from PUBLIC by the extension. A grant must not give it back:
	// through the server's own Unix socket it would log in as the
	// superuser.
	if err := d.EnsureExtension(ctx, c, engine.Extension{Name: "dblink", Database: db.Name}); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureGrant(ctx, c, engine.Grant{User: bob.Name, Database: db.Name}); err != nil {
		t.Fatal(err)
	}
	sock := pathsOf(&n).socketDir
	_, err := as(bob).Exec(ctx, "SELECT public.dblink_connect_u('host="+sock+" port="+itoa(n.Port)+" user=postgres dbname=postgres')")
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("dblink_connect_u as a granted user: %v, want permission denied", err)
	}
	notSuper("dblink")

	// 4. The schema dbaasd installs extensions from, made first by the
	// tenant (the database owner may create schemas): it is replaced, not
	// used.
	exec(as(alice), `CREATE SCHEMA dbaasd_install;
		CREATE FUNCTION dbaasd_install.cube(float8) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE '`+escalate+`'; END $$`)
	if err := d.EnsureExtension(ctx, c, engine.Extension{Name: "earthdistance", Database: db.Name}); err != nil {
		t.Fatalf("EnsureExtension: %v", err)
	}
	for _, ext := range []string{"earthdistance", "cube"} {
		if got := queryString(t, super, "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = $1", ext); got != "public" {
			t.Errorf("extension %s in schema %q, want public", ext, got)
		}
	}
	if got := queryString(t, super, "SELECT count(*)::text FROM pg_namespace WHERE nspname = 'dbaasd_install'"); got != "0" {
		t.Error("the tenant's dbaasd_install schema is still there")
	}
	notSuper("install schema")

	// 5. Settings of the tenant's database do not reach dbaasd's sessions.
	exec(as(alice), "ALTER DATABASE appdb SET search_path = public, pg_catalog")
	admin, err := connect(ctx, pathsOf(&n), db.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	if got := queryString(t, admin, "SHOW search_path"); got != AdminSearchPath {
		t.Errorf("dbaasd's session in the tenant's database has search_path %q", got)
	}
}
