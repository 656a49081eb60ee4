package mysql

import (
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// MariaDB's "access denied" errors: what a tenant must get for every path
// above its grant.
var accessDenied = map[uint16]string{
	1044: "ER_DBACCESS_DENIED_ERROR",
	1045: "ER_ACCESS_DENIED_ERROR",
	1095: "ER_KILL_DENIED_ERROR",
	1142: "ER_TABLEACCESS_DENIED_ERROR",
	1143: "ER_COLUMNACCESS_DENIED_ERROR",
	1227: "ER_SPECIFIC_ACCESS_DENIED_ERROR",
	1370: "ER_PROCACCESS_DENIED_ERROR",
	1419: "ER_BINLOG_CREATE_ROUTINE_NEED_SUPER",
}

// TestTenantCannotEscalate is the audit of what an API user with the
// default grant (all privileges on its database) can do, tried as a tenant
// would over its own connection: every path to the admin account, to other
// databases, to the server's files and settings, to other accounts and to
// replication is refused by the server itself, and leaves nothing behind.
// The user really can work in its database (the first statements), so the
// refusals mean something.
func TestTenantCannotEscalate(t *testing.T) {
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 1)
	n := c.Nodes[0]
	ctx := enginetest.Ctx(t)
	admin := adminDB(t, c, n)
	for _, u := range []engine.User{{Name: "tenant", Password: "Tenant-pw-1"}, {Name: "victim", Password: "Victim-pw-1"}} {
		if err := d.EnsureUser(ctx, c, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []string{"app", "other"} {
		if err := d.EnsureDatabase(ctx, c, engine.Database{Name: db}); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []engine.Grant{{User: "tenant", Database: "app"}, {User: "victim", Database: "other"}} {
		if err := d.EnsureGrant(ctx, c, g); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, admin, "CREATE TABLE other.secret (v VARCHAR(32))")
	mustExec(t, admin, "INSERT INTO other.secret VALUES ('not yours')")
	// A session of dbaasd's own (what the tenant would like to kill).
	rootConn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rootConn.Close() }()
	var rootID string
	if err := rootConn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&rootID); err != nil {
		t.Fatal(err)
	}
	outfile := "/tmp/dbaasd-tenant-outfile-" + c.ID

	tenant := tcpDB(t, "tcp", n, "tenant", "Tenant-pw-1", "app")
	tenant.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(32))",
		"INSERT INTO t VALUES (1, 'mine')",
		"CREATE PROCEDURE p() SQL SECURITY DEFINER SELECT COUNT(*) FROM t",
		"CREATE VIEW v AS SELECT v FROM t",
	} {
		if _, err := tenant.Exec(q); err != nil {
			t.Fatalf("the tenant cannot work in its own database: %s: %v", q, err)
		}
	}

	for _, q := range []string{
		// Objects that would run as the admin account.
		"CREATE DEFINER = 'root'@'localhost' PROCEDURE app.p_root() SQL SECURITY DEFINER SELECT COUNT(*) FROM mysql.global_priv",
		"CREATE DEFINER = 'root'@'localhost' FUNCTION app.f_root() RETURNS INT SQL SECURITY DEFINER RETURN (SELECT COUNT(*) FROM mysql.global_priv)",
		"CREATE DEFINER = 'root'@'localhost' SQL SECURITY DEFINER VIEW app.v_root AS SELECT User FROM mysql.global_priv",
		"CREATE DEFINER = 'root'@'localhost' TRIGGER app.tr_root AFTER INSERT ON app.t FOR EACH ROW DELETE FROM mysql.global_priv WHERE User = 'root'",
		"CREATE DEFINER = 'root'@'localhost' EVENT app.e_root ON SCHEDULE EVERY 1 SECOND DO DELETE FROM mysql.global_priv WHERE User = 'root'",
		"ALTER DEFINER = 'root'@'localhost' VIEW app.v AS SELECT v FROM app.t",
		// Accounts and grants.
		"CREATE USER evil IDENTIFIED BY 'Evil-pw-1'",
		"CREATE ROLE evil_role",
		"GRANT SELECT ON app.* TO victim",
		"GRANT SELECT ON other.* TO tenant",
		"GRANT ALL PRIVILEGES ON *.* TO tenant",
		"ALTER USER 'root'@'localhost' IDENTIFIED BY 'Taken-over-1'",
		"SET PASSWORD FOR 'victim'@'%' = PASSWORD('Taken-over-1')",
		"RENAME USER victim TO victim2",
		"DROP USER victim",
		// Other databases and the system schema.
		"SELECT * FROM other.secret",
		"SELECT * FROM mysql.global_priv",
		"UPDATE mysql.global_priv SET Priv = '{}' WHERE User = 'tenant'",
		"CREATE DATABASE app2",
		"DROP DATABASE other",
		// The server's files.
		"SELECT v INTO OUTFILE '" + outfile + "' FROM app.t",
		"LOAD DATA INFILE '/etc/passwd' INTO TABLE app.t",
		"INSTALL SONAME 'ha_connect'",
		"INSTALL PLUGIN server_audit SONAME 'server_audit'",
		"CREATE FUNCTION sys_exec RETURNS INTEGER SONAME 'lib_mysqludf_sys.so'",
		// The server's settings, life and other sessions.
		"SET GLOBAL read_only = ON",
		"SET GLOBAL log_bin_trust_function_creators = ON",
		"SET GLOBAL init_connect = 'DROP DATABASE app'",
		"SHUTDOWN",
		"KILL " + rootID,
		"FLUSH PRIVILEGES",
		// Replication: writes that would not replicate, or forged events.
		"SET SESSION sql_log_bin = 0",
		"SET SESSION gtid_seq_no = 1000",
		"SET SESSION gtid_domain_id = 7",
		"SET SESSION server_id = 7",
		"BINLOG 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
		"CHANGE MASTER TO MASTER_HOST = '127.0.0.1'",
		"STOP SLAVE",
		"PURGE BINARY LOGS BEFORE NOW()",
	} {
		_, err := tenant.Exec(q)
		var me *gomysql.MySQLError
		switch {
		case err == nil:
			t.Errorf("the tenant could: %s", q)
		case !errors.As(err, &me) || accessDenied[me.Number] == "":
			t.Errorf("%s: refused, but not for lack of privilege: %v", q, err)
		}
	}

	// LOAD_FILE answers NULL without the FILE privilege.
	var content sql.NullString
	if err := tenant.QueryRow("SELECT LOAD_FILE('/etc/hostname')").Scan(&content); err != nil || content.Valid {
		t.Errorf("LOAD_FILE as the tenant: %q (%v), want NULL", content.String, err)
	}
	// Other sessions are invisible.
	if got := mustQuery(t, tenant, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE User <> 'tenant'"); got != "0" {
		t.Errorf("the tenant sees %s sessions of other accounts", got)
	}

	// Nothing was left behind.
	if _, err := os.Stat(outfile); err == nil {
		_ = os.Remove(outfile)
		t.Errorf("the tenant wrote %s", outfile)
	}
	for q, want := range map[string]string{
		"SELECT COUNT(*) FROM mysql.global_priv WHERE User IN ('evil', 'evil_role', 'victim2')":                "0",
		"SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'victim'":                                         "1",
		"SELECT COUNT(*) FROM information_schema.ROUTINES WHERE DEFINER LIKE 'root@%'":                         "0",
		"SELECT COUNT(*) FROM information_schema.VIEWS WHERE DEFINER LIKE 'root@%'":                            "0",
		"SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE DEFINER LIKE 'root@%'":                         "0",
		"SELECT COUNT(*) FROM information_schema.EVENTS":                                                       "0",
		"SELECT COUNT(*) FROM mysql.db WHERE User = 'tenant' AND Db <> 'app'":                                  "0",
		"SELECT COUNT(*) FROM mysql.db WHERE User = 'victim' AND Db <> 'other'":                                "0",
		"SELECT COUNT(*) FROM mysql.plugin":                                                                    "0",
		"SELECT COUNT(*) FROM mysql.func":                                                                      "0",
		"SELECT @@GLOBAL.read_only + @@GLOBAL.log_bin_trust_function_creators + (@@GLOBAL.init_connect <> '')": "0",
		"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('app', 'other')":               "2",
		"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " + rootID:                             "1",
		"SELECT JSON_VALUE(Priv, '$.access') FROM mysql.global_priv WHERE User = 'tenant'":                     "0",
	} {
		if got := mustQuery(t, admin, q); got != want {
			t.Errorf("%s = %s, want %s", q, got, want)
		}
	}
	fresh := openSocket(newNode(nil, n).socket(), c.AdminPassword, 5*time.Second)
	defer func() { _ = fresh.Close() }()
	if err := fresh.Ping(); err != nil {
		t.Errorf("the admin account no longer logs in: %v", err)
	}
}
