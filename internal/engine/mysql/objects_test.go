package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestUsersDatabasesGrants(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	c := newTestCluster(t, d, 1)
	n := c.Nodes[0]
	admin := adminDB(t, c, n)
	ctx := enginetest.Ctx(t)

	login := func(user, password, db string) error {
		return tcpDB(t, "tcp", n, user, password, db).Ping()
	}

	t.Run("Login", func(t *testing.T) {
		if err := d.EnsureUser(ctx, c, engine.User{Name: "alice", Password: "Alice-pw-1"}); err != nil {
			t.Fatal(err)
		}
		if err := login("alice", "Alice-pw-1", ""); err != nil {
			t.Errorf("login with the password: %v", err)
		}
		if err := login("alice", "wrong", ""); err == nil {
			t.Error("login with a wrong password worked")
		}
		if err := d.EnsureUser(ctx, c, engine.User{Name: "alice", Password: "Alice-pw-2"}); err != nil {
			t.Fatal(err)
		}
		if err := login("alice", "Alice-pw-2", ""); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		if err := login("alice", "Alice-pw-1", ""); err == nil {
			t.Error("login with the old password still works")
		}
		if got := mustQuery(t, admin, "SELECT COUNT(*) FROM mysql.user WHERE User = 'alice'"); got != "1" {
			t.Errorf("alice has %s host entries, want 1 ('%%')", got)
		}
	})

	t.Run("NoPlaintextInBinlog", func(t *testing.T) {
		rows, err := admin.Query("SHOW BINLOG EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			_ = rows.Scan(ptrs...)
			for _, v := range vals {
				if b, ok := v.([]byte); ok && strings.Contains(string(b), "Alice-pw") {
					t.Errorf("binary log holds a plaintext password: %s", b)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("DatabaseCollation", func(t *testing.T) {
		cases := []struct {
			db              engine.Database
			charset, collat string
		}{
			{engine.Database{Name: "plain"}, "utf8mb4", "utf8mb4_general_ci"},
			{engine.Database{Name: "uni", LcCollate: "utf8mb4_unicode_ci"}, "utf8mb4", "utf8mb4_unicode_ci"},
			{engine.Database{Name: "swedish", LcCollate: "sv_SE.UTF-8", LcCtype: "sv_SE.UTF-8"}, "utf8mb4", "utf8mb4_swedish_ci"},
			{engine.Database{Name: "c_locale", LcCollate: "C", LcCtype: "C"}, "utf8mb4", "utf8mb4_bin"},
			{engine.Database{Name: "english", LcCollate: "en_US.UTF-8"}, "utf8mb4", "utf8mb4_unicode_520_ci"},
			{engine.Database{Name: "latin", LcCtype: "latin1"}, "latin1", "latin1_swedish_ci"},
			{engine.Database{Name: "odd`name"}, "utf8mb4", "utf8mb4_general_ci"},
		}
		for _, tc := range cases {
			if err := d.EnsureDatabase(ctx, c, tc.db); err != nil {
				t.Fatalf("EnsureDatabase(%+v): %v", tc.db, err)
			}
			var cs, coll string
			if err := admin.QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", tc.db.Name).Scan(&cs, &coll); err != nil {
				t.Fatalf("database %s: %v", tc.db.Name, err)
			}
			if cs != tc.charset || coll != tc.collat {
				t.Errorf("database %s: %s/%s, want %s/%s", tc.db.Name, cs, coll, tc.charset, tc.collat)
			}
		}
		// A changed collation is applied to the existing database.
		if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "plain", LcCollate: "utf8mb4_bin"}); err != nil {
			t.Fatal(err)
		}
		if got := mustQuery(t, admin, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'plain'"); got != "utf8mb4_bin" {
			t.Errorf("collation after change = %s", got)
		}
	})

	t.Run("InvalidRequests", func(t *testing.T) {
		bad := []error{
			d.EnsureDatabase(ctx, c, engine.Database{Name: "x", LcCollate: "klingon_ci"}),
			d.EnsureDatabase(ctx, c, engine.Database{Name: "x", LcCollate: "de_DE.ISO-8859-1"}),
			d.EnsureDatabase(ctx, c, engine.Database{Name: "x", LcCollate: "utf8mb4_bin", LcCtype: "latin1"}),
			d.EnsureDatabase(ctx, c, engine.Database{Name: "mysql"}),
			d.EnsureDatabase(ctx, c, engine.Database{Name: "Information_Schema"}),
			d.DropDatabase(ctx, c, "sys"),
			d.EnsureUser(ctx, c, engine.User{Name: "root", Password: "x"}),
			d.EnsureUser(ctx, c, engine.User{Name: replUser, Password: "x"}),
			d.EnsureUser(ctx, c, engine.User{Name: "bob'--", Password: "x"}),
			d.EnsureUser(ctx, c, engine.User{Name: "bob", Password: ""}),
			d.EnsureGrant(ctx, c, engine.Grant{User: "nobody", Database: "plain"}),
		}
		for i, err := range bad {
			if !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("case %d: err = %v, want ErrInvalid", i, err)
			}
		}
	})

	t.Run("GrantAndRevoke", func(t *testing.T) {
		if err := d.EnsureUser(ctx, c, engine.User{Name: "bob", Password: "Bob-pw-1"}); err != nil {
			t.Fatal(err)
		}
		if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "bob_db", Owner: "bob"}); err != nil {
			t.Fatal(err)
		}
		// A database whose name matches bob_db's grant if "_" were a wildcard.
		if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "bobXdb"}); err != nil {
			t.Fatal(err)
		}
		bob := tcpDB(t, "tcp", n, "bob", "Bob-pw-1", "")
		if _, err := bob.Exec("CREATE TABLE bob_db.t (id INT)"); err == nil {
			t.Fatal("bob created a table without a grant")
		}
		g := engine.Grant{User: "bob", Database: "bob_db"}
		if err := d.EnsureGrant(ctx, c, g); err != nil {
			t.Fatal(err)
		}
		mustExec(t, bob, "CREATE TABLE bob_db.t (id INT)")
		mustExec(t, bob, "INSERT INTO bob_db.t VALUES (1)")
		if _, err := bob.Exec("CREATE TABLE bobXdb.t (id INT)"); err == nil {
			t.Error("the grant on bob_db also covers bobXdb")
		}
		grants := mustQuery(t, admin, "SELECT GROUP_CONCAT(Db) FROM mysql.db WHERE User = 'bob'")
		if grants != `bob\_db` {
			t.Errorf("bob's database grants = %q", grants)
		}
		var showGrants []string
		rows, err := bob.Query("SHOW GRANTS")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			showGrants = append(showGrants, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(showGrants, "\n"), "ALL PRIVILEGES ON `bob\\_db`.*") {
			t.Errorf("SHOW GRANTS = %q", showGrants)
		}
		if err := d.DropGrant(ctx, c, g); err != nil {
			t.Fatal(err)
		}
		bob2 := tcpDB(t, "tcp", n, "bob", "Bob-pw-1", "")
		if _, err := bob2.Exec("CREATE TABLE bob_db.t2 (id INT)"); err == nil {
			t.Error("bob still creates tables after the grant was revoked")
		}
		if err := d.DropGrant(ctx, c, g); err != nil {
			t.Errorf("second DropGrant: %v", err)
		}
		if err := d.DropUser(ctx, c, "bob"); err != nil {
			t.Fatal(err)
		}
		if err := login("bob", "Bob-pw-1", ""); err == nil {
			t.Error("a dropped user logs in")
		}
		if err := d.DropDatabase(ctx, c, "bob_db"); err != nil {
			t.Fatal(err)
		}
	})
}
