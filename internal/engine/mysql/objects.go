package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Users, databases and grants run on the primary of a semi-sync cluster
// (they replicate to the replicas) and on any synced node of a Galera
// cluster (replicated as total-order DDL). Passwords travel to the server
// only as mysql_native_password hashes, so that the binary log and the
// replicas never see them in plaintext.
//
// Database.Owner is ignored: MariaDB databases have no owner; access comes
// from grants (GRANT ALL ON db.* TO each host entry of the user).
//
// What a grant gives, and nothing more: all privileges on that database's
// objects, without GRANT OPTION and without any global privilege — no
// FILE (INTO OUTFILE, LOAD DATA INFILE, LOAD_FILE), SUPER or SET USER
// (another DEFINER, SET GLOBAL, sql_log_bin, wsrep_on, KILL of other
// sessions), CREATE USER (accounts, roles, passwords), BINLOG REPLAY,
// replication or plugin rights. Database names are escaped in grants, so
// "_" and "%" match themselves. dbaasd's admin sessions select no default
// database and call no stored code, so nothing a tenant creates (routines,
// views, triggers, events: all run as the tenant) runs with the admin
// account's rights. TestTenantCannotEscalate tries each path as a tenant.

// Writer runs fn on an admin connection to a server of c that takes
// writes (the primary, or a synced Galera node).
type Writer func(ctx context.Context, c *engine.Cluster, fn func(db *sql.DB) error) error

// Objects makes the API's users, databases and grants, and the firewall's
// host entries of the users, exist in MariaDB through a Writer: the local
// runtime's servers and the Kubernetes runtime's share this SQL.
type Objects struct {
	Write Writer
}

var (
	_ engine.UserManager     = Objects{}
	_ engine.DatabaseManager = Objects{}
)

const (
	maxUserName = 80 // MariaDB 10.11 accepts up to 128 characters; API users keep to 80
	maxDBName   = 64
)

// reservedDatabases are MariaDB's own schemas.
var reservedDatabases = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
}

func checkUserName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxUserName || !utf8.ValidString(name) {
		return fmt.Errorf("user name %q must have 1 to %d characters: %w", name, maxUserName, engine.ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune("'\"`\\@%", r) {
			return fmt.Errorf("user name %q has a character that is not allowed (%q): %w", name, r, engine.ErrInvalid)
		}
	}
	if reservedUser(name) {
		return fmt.Errorf("user name %q is reserved: %w", name, engine.ErrInvalid)
	}
	return nil
}

func checkDBName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxDBName || !utf8.ValidString(name) {
		return fmt.Errorf("database name %q must have 1 to %d characters: %w", name, maxDBName, engine.ErrInvalid)
	}
	if strings.HasSuffix(name, " ") {
		return fmt.Errorf("database name %q ends with a space: %w", name, engine.ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) || strings.ContainsRune(`\/.`, r) {
			return fmt.Errorf("database name %q has a character that is not allowed (%q): %w", name, r, engine.ErrInvalid)
		}
	}
	if reservedDatabases[strings.ToLower(name)] || strings.HasPrefix(strings.ToLower(name), "#mysql") {
		return fmt.Errorf("database name %q is reserved: %w", name, engine.ErrInvalid)
	}
	return nil
}

// grantDB is a database name as a grant pattern: "_" and "%" are wildcards
// in database-level grants and are escaped.
func grantDB(name string) string {
	return strings.NewReplacer("_", `\_`, "%", `\%`).Replace(name)
}

// EnsureUser creates the user (one entry per firewall host pattern) or
// changes its password.
func (o Objects) EnsureUser(ctx context.Context, c *engine.Cluster, u engine.User) error {
	if err := checkUserName(u.Name); err != nil {
		return err
	}
	if u.Password == "" {
		return fmt.Errorf("user %s: empty password: %w", u.Name, engine.ErrInvalid)
	}
	patterns, err := hostPatterns(c.Firewall)
	if err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		users, err := accounts(ctx, db, u.Name)
		if err != nil {
			return err
		}
		return syncUserHosts(ctx, db, u.Name, users[u.Name], patterns, "mysql_native_password", nativeHash(u.Password), true)
	})
}

// DropUser drops every host entry of the user.
func (o Objects) DropUser(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkUserName(name); err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		users, err := accounts(ctx, db, name)
		if err != nil {
			return err
		}
		for _, e := range users[name] {
			if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS "+account(name, e.Host)); err != nil {
				return sqlErr("drop user "+name, err)
			}
		}
		return nil
	})
}

// EnsureDatabase creates the database with the character set and collation
// mapped from LcCtype/LcCollate (see resolveCollation), or changes its
// defaults when they differ.
func (o Objects) EnsureDatabase(ctx context.Context, c *engine.Cluster, dbase engine.Database) error {
	if err := checkDBName(dbase.Name); err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		cs, coll, err := resolveCollation(ctx, db, dbase.LcCollate, dbase.LcCtype)
		if err != nil {
			return err
		}
		spec := " CHARACTER SET " + cs + " COLLATE " + coll
		if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(dbase.Name)+spec); err != nil {
			return sqlErr("create database "+dbase.Name, err)
		}
		var haveCS, haveColl string
		err = db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", dbase.Name).Scan(&haveCS, &haveColl)
		if err != nil {
			return sqlErr("read database "+dbase.Name, err)
		}
		if haveCS != cs || haveColl != coll {
			if _, err := db.ExecContext(ctx, "ALTER DATABASE "+quoteIdent(dbase.Name)+spec); err != nil {
				return sqlErr("alter database "+dbase.Name, err)
			}
		}
		return nil
	})
}

// DropDatabase drops the database (the grants on it stay until DropGrant).
func (o Objects) DropDatabase(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkDBName(name); err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name))
		return sqlErr("drop database "+name, err)
	})
}

// EnsureGrant gives the user all privileges on the database, on every host
// entry of the user.
func (o Objects) EnsureGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkUserName(g.User); err != nil {
		return err
	}
	if err := checkDBName(g.Database); err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		users, err := accounts(ctx, db, g.User)
		if err != nil {
			return err
		}
		if len(users[g.User]) == 0 {
			return fmt.Errorf("grant on %s: user %s does not exist: %w", g.Database, g.User, engine.ErrInvalid)
		}
		for _, e := range users[g.User] {
			if _, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON "+quoteIdent(grantDB(g.Database))+".* TO "+account(g.User, e.Host)); err != nil {
				return sqlErr("grant "+g.Database+" to "+g.User, err)
			}
		}
		return nil
	})
}

// DropGrant revokes the user's privileges on the database.
func (o Objects) DropGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkUserName(g.User); err != nil {
		return err
	}
	if err := checkDBName(g.Database); err != nil {
		return err
	}
	return o.Write(ctx, c, func(db *sql.DB) error {
		users, err := accounts(ctx, db, g.User)
		if err != nil {
			return err
		}
		for _, e := range users[g.User] {
			_, err := db.ExecContext(ctx, "REVOKE ALL PRIVILEGES ON "+quoteIdent(grantDB(g.Database))+".* FROM "+account(g.User, e.Host))
			if err != nil && !isErrno(err, errNonexistingGrant) {
				return sqlErr("revoke "+g.Database+" from "+g.User, err)
			}
		}
		return nil
	})
}

// errNoRows reports sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
