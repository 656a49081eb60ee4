package postgres

import (
	"errors"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestDatabasesAndGrants(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	n := c.Nodes[0]
	owner := engine.User{Name: "app_owner", Password: "Owner-123456"}
	alice := engine.User{Name: "alice", Password: "Alice-123456"}
	bob := engine.User{Name: "bob", Password: "Bob-123456"}
	for _, u := range []engine.User{owner, alice, bob} {
		if err := d.EnsureUser(ctx, c, u); err != nil {
			t.Fatal(err)
		}
	}
	db := engine.Database{Name: "App DB", Owner: owner.Name, LcCollate: "C", LcCtype: "C"}
	if err := d.EnsureDatabase(ctx, c, db); err != nil {
		t.Fatalf("EnsureDatabase: %v", err)
	}
	super := superConn(t, &n, "postgres")
	var gotOwner, collate, ctype string
	if err := super.QueryRow(ctx, "SELECT pg_get_userbyid(datdba), datcollate, datctype FROM pg_database WHERE datname = $1",
		db.Name).Scan(&gotOwner, &collate, &ctype); err != nil {
		t.Fatal(err)
	}
	if gotOwner != owner.Name || collate != "C" || ctype != "C" {
		t.Fatalf("pg_database: owner %q collate %q ctype %q, want %q C C", gotOwner, collate, ctype, owner.Name)
	}
	t.Run("DefaultLocaleAndOwnerChange", func(t *testing.T) {
		other := engine.Database{Name: "plain_db"}
		if err := d.EnsureDatabase(ctx, c, other); err != nil {
			t.Fatal(err)
		}
		if got := queryString(t, super, "SELECT datcollate || '/' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'plain_db'"); got != "C.UTF-8/postgres" {
			t.Fatalf("default database = %q, want C.UTF-8/postgres", got)
		}
		other.Owner = bob.Name
		if err := d.EnsureDatabase(ctx, c, other); err != nil {
			t.Fatal(err)
		}
		if got := queryString(t, super, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'plain_db'"); got != bob.Name {
			t.Fatalf("owner after change = %q, want bob", got)
		}
		other.LcCollate = "C"
		if err := d.EnsureDatabase(ctx, c, other); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("changing the collation of an existing database: %v, want ErrInvalid", err)
		}
		if err := d.DropDatabase(ctx, c, other.Name); err != nil {
			t.Fatal(err)
		}
	})

	canConnect := func(user string) bool {
		return queryString(t, super, "SELECT has_database_privilege($1, $2, 'CONNECT')::text", user, db.Name) == "true"
	}
	if canConnect(alice.Name) {
		t.Fatal("alice can connect without a grant")
	}
	if !canConnect(owner.Name) {
		t.Fatal("the owner cannot connect")
	}
	for _, u := range []engine.User{alice, bob} {
		if err := d.EnsureGrant(ctx, c, engine.Grant{User: u.Name, Database: db.Name}); err != nil {
			t.Fatalf("EnsureGrant %s: %v", u.Name, err)
		}
	}
	if !canConnect(alice.Name) {
		t.Fatal("alice cannot connect after the grant")
	}

	// Alice creates a table in public; Bob and the owner can use it, and
	// Alice can use what Bob creates later.
	aliceConn, err := clientConn(ctx, n.Host, n.Port, alice.Name, alice.Password, db.Name, "")
	if err != nil {
		t.Fatalf("alice connects: %v", err)
	}
	defer func() { _ = aliceConn.Close(ctx) }()
	if _, err := aliceConn.Exec(ctx, "CREATE TABLE public.notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('hi')"); err != nil {
		t.Fatalf("alice creates a table: %v", err)
	}
	for _, u := range []engine.User{bob, owner} {
		conn, err := clientConn(ctx, n.Host, n.Port, u.Name, u.Password, db.Name, "")
		if err != nil {
			t.Fatalf("%s connects: %v", u.Name, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO notes (body) VALUES ('from "+u.Name+"')"); err != nil {
			t.Errorf("%s writes to alice's table: %v", u.Name, err)
		}
		_ = conn.Close(ctx)
	}
	bobConn, err := clientConn(ctx, n.Host, n.Port, bob.Name, bob.Password, db.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobConn.Exec(ctx, "CREATE TABLE bobs (x int)"); err != nil {
		t.Fatal(err)
	}
	_ = bobConn.Close(ctx)
	if _, err := aliceConn.Exec(ctx, "INSERT INTO bobs VALUES (1)"); err != nil {
		t.Errorf("alice writes to bob's later table: %v", err)
	}

	for i := 0; i < 2; i++ {
		if err := d.DropGrant(ctx, c, engine.Grant{User: alice.Name, Database: db.Name}); err != nil {
			t.Fatalf("DropGrant #%d: %v", i+1, err)
		}
	}
	if canConnect(alice.Name) {
		t.Fatal("alice can still connect after DropGrant")
	}
	if !canConnect(bob.Name) {
		t.Fatal("DropGrant of alice took bob's grant too")
	}
	if conn, err := clientConn(ctx, n.Host, n.Port, alice.Name, alice.Password, db.Name, ""); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("alice logged in to the database after DropGrant")
	}
	if err := d.DropGrant(ctx, c, engine.Grant{User: owner.Name, Database: db.Name}); err != nil {
		t.Fatal(err)
	}
	if !canConnect(owner.Name) {
		t.Fatal("DropGrant took the owner's access")
	}

	for _, name := range []string{"postgres", "template0", "template1"} {
		if err := d.EnsureDatabase(ctx, c, engine.Database{Name: name}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("EnsureDatabase(%s) = %v, want ErrInvalid", name, err)
		}
		if err := d.DropDatabase(ctx, c, name); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("DropDatabase(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "x", Owner: "nobody_here"}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("EnsureDatabase with a missing owner = %v, want ErrInvalid", err)
	}

	// DropDatabase ends sessions (alice's connection is still open).
	for i := 0; i < 2; i++ {
		if err := d.DropDatabase(ctx, c, db.Name); err != nil {
			t.Fatalf("DropDatabase #%d: %v", i+1, err)
		}
	}
	if got := queryString(t, super, "SELECT count(*)::text FROM pg_database WHERE datname = $1", db.Name); got != "0" {
		t.Fatal("database still exists")
	}
}
