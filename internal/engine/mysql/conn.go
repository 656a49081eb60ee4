package mysql

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// adminUser is the account dbaasd connects as, over each node's Unix
// socket only (root@localhost; the template has no other root entry).
const adminUser = "root"

// replUser is the account replicas of a semi-sync cluster connect as.
const replUser = "dbaasd_repl"

// MariaDB error numbers the driver reacts to.
const (
	errNonexistingGrant   = 1141 // ER_NONEXISTING_GRANT
	errWrongValueForVar   = 1231 // ER_WRONG_VALUE_FOR_VAR
	errWrongTypeForVar    = 1232 // ER_WRONG_TYPE_FOR_VAR
	errUnknownSystemVar   = 1193 // ER_UNKNOWN_SYSTEM_VARIABLE
	errIncorrectGlobalVar = 1238 // ER_INCORRECT_GLOBAL_LOCAL_VAR (read-only)
	errUnknownCollation   = 1273 // ER_UNKNOWN_COLLATION
	errUnknownCharset     = 1115 // ER_UNKNOWN_CHARACTER_SET
	errCollationMismatch  = 1253 // ER_COLLATION_CHARSET_MISMATCH
	errWrongDBName        = 1102 // ER_WRONG_DB_NAME
	errWrongUserName      = 1470 // ER_WRONG_STRING_LENGTH (user name too long)
)

// invalidErrnos are server errors caused by the request's content.
var invalidErrnos = map[uint16]bool{
	errWrongValueForVar: true, errWrongTypeForVar: true, errUnknownSystemVar: true,
	errIncorrectGlobalVar: true, errUnknownCollation: true, errUnknownCharset: true,
	errCollationMismatch: true, errWrongDBName: true, errWrongUserName: true,
}

// sqlErr wraps a server error with what was being done; errors caused by
// the request's content also match engine.ErrInvalid.
func sqlErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var me *gomysql.MySQLError
	if errors.As(err, &me) && invalidErrnos[me.Number] {
		return fmt.Errorf("%s: %w: %w", what, engine.ErrInvalid, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isErrno reports whether err is the server error number n.
func isErrno(err error, n uint16) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == n
}

// openSocket opens a connection pool to a server's Unix socket as the admin
// user. Connections run with a fixed sql_mode so that the string quoting of
// quoteString is right whatever the user configured globally.
func openSocket(socket, password string, timeout time.Duration) *sql.DB {
	cfg := gomysql.NewConfig()
	cfg.User = adminUser
	cfg.Passwd = password
	cfg.Net = "unix"
	cfg.Addr = socket
	cfg.Timeout = timeout
	cfg.ReadTimeout = 5 * time.Minute
	cfg.WriteTimeout = time.Minute
	cfg.Logger = &gomysql.NopLogger{}
	cfg.Params = map[string]string{"sql_mode": "'NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES'"}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		// NewConnector only fails on an invalid configuration, which the
		// fixed fields above cannot produce.
		panic(fmt.Sprintf("mysql connector: %v", err))
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxLifetime(time.Minute)
	return db
}

// nativeHash is MariaDB's mysql_native_password hash of a password (what
// PASSWORD() returns): "*" + upper hex of SHA1(SHA1(password)). dbaasd only
// ever sends hashes, so plaintext passwords reach neither the binary log
// nor the replicas.
func nativeHash(password string) string {
	a := sha1.Sum([]byte(password))
	b := sha1.Sum(a[:])
	return "*" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// derivedSecret derives a deterministic secret for an internal purpose from
// the cluster's admin password.
func derivedSecret(adminPassword, purpose string) string {
	m := hmac.New(sha256.New, []byte(adminPassword))
	m.Write([]byte("dbaasd mysql " + purpose))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// quoteString quotes a string literal for MariaDB (sessions run without
// NO_BACKSLASH_ESCAPES, see openSocket).
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case 0:
			b.WriteString(`\0`)
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteIdent quotes an identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// account renders 'user'@'host'.
func account(user, host string) string {
	return quoteString(user) + "@" + quoteString(host)
}

// queryString runs a query that returns one string value.
func queryString(ctx context.Context, db *sql.DB, q string, args ...any) (string, error) {
	var v sql.NullString
	if err := db.QueryRowContext(ctx, q, args...).Scan(&v); err != nil {
		return "", err
	}
	return v.String, nil
}

// scanMap runs a query returning one row (or none) and maps column names
// to values, for SHOW SLAVE STATUS and friends whose columns vary.
func scanMap(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[c] = vals[i].String
	}
	return m, rows.Err()
}

// writeClientDefaults writes the options file with which the cluster's OS
// account runs MariaDB's tools (mariadb, mariadb-backup) against a node: the
// admin account, its password and the node's socket, in a file only that
// account can read (the password never appears on a command line). It
// returns the --defaults-file option that names it, which must come first.
func writeClientDefaults(c *engine.Cluster, n *node) (string, error) {
	path := filepath.Join(n.runDir(), "client.cnf")
	var b strings.Builder
	b.WriteString("# Written by dbaasd: the admin account for MariaDB's tools. Do not edit.\n")
	for _, group := range []string{"client", "mariadb-backup"} {
		fmt.Fprintf(&b, "[%s]\nuser=%s\npassword=%s\nsocket=%s\n", group, adminUser, optionValue(c.AdminPassword), optionValue(n.socket()))
	}
	if _, err := n.r.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("node %s: %w", n.ID, err)
	}
	return "--defaults-file=" + path, nil
}

// optionValue quotes a value for a MariaDB options file.
func optionValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// RemoteClientDefaults is an options file for MariaDB's tools (the
// [client] group) that reaches a server over TCP as user: what dbaasd's
// tools read instead of a password on their command line.
func RemoteClientDefaults(user, password, host string, port int) []byte {
	return fmt.Appendf(nil, "# Written by dbaasd. Do not edit.\n[client]\nuser=%s\npassword=%s\nhost=%s\nport=%d\nprotocol=TCP\n",
		optionValue(user), optionValue(password), optionValue(host), port)
}
