package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestUsersLogInWithTheirPassword(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	n := c.Nodes[0]
	const user = "Mixed Case-user"
	for _, pw := range []string{"first-Secret-1", `it's a "quoted" \ päss`, "final-Secret-2"} {
		if err := d.EnsureUser(ctx, c, engine.User{Name: user, Password: pw}); err != nil {
			t.Fatalf("EnsureUser: %v", err)
		}
		conn, err := clientConn(ctx, n.Host, n.Port, user, pw, "postgres", "")
		if err != nil {
			t.Fatalf("log in with password %q: %v", pw, err)
		}
		_ = conn.Close(ctx)
	}
	for _, wrong := range []string{"first-Secret-1", "final-Secret-3", ""} {
		conn, err := clientConn(ctx, n.Host, n.Port, user, wrong, "postgres", "")
		if err == nil {
			_ = conn.Close(ctx)
			t.Fatalf("logged in with the wrong password %q", wrong)
		}
		if !strings.Contains(err.Error(), "password authentication failed") {
			t.Fatalf("wrong password %q: %v, want a password authentication failure", wrong, err)
		}
	}
	super := superConn(t, &n, "postgres")
	if got := queryString(t, super, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = $1", user); got != "SCRAM-SHA-256$" {
		t.Fatalf("stored password starts with %q, want a SCRAM secret", got)
	}

	if err := d.DropUser(ctx, c, user); err != nil {
		t.Fatalf("DropUser: %v", err)
	}
	if conn, err := clientConn(ctx, n.Host, n.Port, user, "final-Secret-2", "postgres", ""); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("a dropped user logged in")
	}
	for _, name := range []string{"postgres", poolerAuthRole, "", "a234567890123456789012345678901234567890123456789012345678901234"} {
		if err := d.EnsureUser(ctx, c, engine.User{Name: name, Password: "x"}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("EnsureUser(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDropUserThatOwnsObjects(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	n := c.Nodes[0]
	u := engine.User{Name: "owner_of_things", Password: "Secret-123456"}
	dbOwner := engine.User{Name: "things_owner", Password: "Secret-123456"}
	superDB := engine.Database{Name: "things_db", Owner: "postgres"}
	tenantDB := engine.Database{Name: "things_db2", Owner: dbOwner.Name}
	for _, err := range []error{
		d.EnsureUser(ctx, c, u),
		d.EnsureUser(ctx, c, dbOwner),
		d.EnsureDatabase(ctx, c, superDB),
		d.EnsureDatabase(ctx, c, tenantDB),
		d.EnsureGrant(ctx, c, engine.Grant{User: u.Name, Database: superDB.Name}),
		d.EnsureGrant(ctx, c, engine.Grant{User: u.Name, Database: tenantDB.Name}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []string{superDB.Name, tenantDB.Name} {
		conn, err := clientConn(ctx, n.Host, n.Port, u.Name, u.Password, db, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE things (id int); CREATE SEQUENCE thing_ids"); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(ctx)
	}
	if err := d.DropUser(ctx, c, u.Name); err != nil {
		t.Fatalf("DropUser of a user owning tables: %v", err)
	}
	// In the tenant's database the owner gets the objects; in the
	// superuser's they go (the superuser never inherits a tenant's object).
	if got := queryString(t, superConn(t, &n, tenantDB.Name), "SELECT tableowner FROM pg_tables WHERE tablename = 'things'"); got != dbOwner.Name {
		t.Errorf("table owner after DropUser = %q, want the database owner %s", got, dbOwner.Name)
	}
	super := superConn(t, &n, superDB.Name)
	if got := queryString(t, super, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'things'"); got != "0" {
		t.Errorf("the dropped user's table is still in the superuser's database")
	}
	if got := queryString(t, super, "SELECT count(*)::text FROM pg_roles WHERE rolname = $1", u.Name); got != "0" {
		t.Fatal("role still exists after DropUser")
	}
}
