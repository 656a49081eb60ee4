package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// checkRoleName refuses names that are not valid or belong to dbaasd.
func checkRoleName(name string) error {
	if err := checkName("user", name); err != nil {
		return err
	}
	if name == superuser || name == poolerAuthRole || name == poolerAdminUser {
		return fmt.Errorf("%w: user name %q is reserved", engine.ErrInvalid, name)
	}
	return nil
}

// quietSession keeps statements of this session out of the server log,
// whatever the user configured, because they carry password secrets.
func quietSession(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SELECT set_config(s.name, v.value, false)
		FROM pg_settings s JOIN (VALUES ('log_statement', 'none'), ('log_min_duration_statement', '-1'),
			('log_min_duration_sample', '-1'), ('log_min_error_statement', 'panic')) AS v(name, value)
		ON s.name = v.name`)
	if err != nil {
		return sqlError(err, "prepare session")
	}
	return nil
}

// EnsureUser creates a login role with the password, or sets the password
// (and LOGIN) of an existing one. The password is sent as a SCRAM-SHA-256
// secret computed here, never in clear text, when it is printable ASCII.
func (d *Driver) EnsureUser(ctx context.Context, c *engine.Cluster, u engine.User) error {
	if err := checkRoleName(u.Name); err != nil {
		return err
	}
	if u.Password == "" {
		return fmt.Errorf("%w: user %s needs a password", engine.ErrInvalid, u.Name)
	}
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if err := quietSession(ctx, conn); err != nil {
			return err
		}
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", u.Name).Scan(&exists); err != nil {
			return sqlError(err, "look up user %s", u.Name)
		}
		secret, ok := scramSecret(u.Password)
		if !ok {
			secret = u.Password
			if _, err := conn.Exec(ctx, "SET password_encryption = 'scram-sha-256'"); err != nil {
				return sqlError(err, "prepare session")
			}
		}
		verb := "ALTER"
		if !exists {
			verb = "CREATE"
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("%s ROLE %s LOGIN PASSWORD %s", verb, ident(u.Name), literal(secret))); err != nil {
			// Never include the statement: it carries the secret.
			return sqlError(err, "%s user %s", map[bool]string{true: "update", false: "create"}[exists], u.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.refreshPoolerUsers(ctx, c)
}

// DropUser ends the user's sessions; in every database where the user owns
// objects or has privileges it gives what the user owns to the database's
// owner, or drops it when the database belongs to the superuser (never to
// the superuser: a SECURITY DEFINER function of the user would then run as
// the superuser for whoever may call it), and drops its privileges; then it
// drops the role. Dropping a missing user does nothing.
func (d *Driver) DropUser(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkRoleName(name); err != nil {
		return err
	}
	var databases []string
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) (err error) {
		databases, err = EndUserSessions(ctx, conn, name)
		return err
	})
	if err != nil || len(databases) == 0 {
		return err
	}
	for _, db := range databases {
		err := onPrimary(ctx, c, db, func(conn *pgx.Conn) error { return DropOwned(ctx, conn, name) })
		if err != nil {
			return sqlError(err, "drop the objects of user %s in database %s", name, db)
		}
	}
	err = onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(name)); err != nil {
			return sqlError(err, "drop user %s", name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.refreshPoolerUsers(ctx, c)
}

// EndUserSessions ends the sessions of role name and returns the databases
// where it owns objects or has privileges, "postgres" last (for shared
// objects); none when there is no such role. conn is a superuser session
// on the postgres database. Every runtime's driver drops users this way.
func EndUserSessions(ctx context.Context, conn *pgx.Conn, name string) ([]string, error) {
	var oid uint32
	err := conn.QueryRow(ctx, "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1", name).Scan(&oid)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, sqlError(err, "look up user %s", name)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = $1", name); err != nil {
		return nil, sqlError(err, "end the sessions of user %s", name)
	}
	rows, err := conn.Query(ctx, `SELECT DISTINCT d.datname FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_database d ON d.oid = s.dbid
		WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND s.refobjid = $1 AND d.datallowconn AND d.datname <> 'postgres'`, oid)
	if err != nil {
		return nil, sqlError(err, "list the databases of user %s", name)
	}
	databases, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, sqlError(err, "list the databases of user %s", name)
	}
	return append(databases, "postgres"), nil // last: shared objects
}

// DropOwned gives what role name owns in conn's database to the database's
// owner, unless that owner is a superuser (a SECURITY DEFINER function of
// the tenant's would then run as the superuser), and drops the rest with
// its privileges. Every runtime's driver drops users' objects this way.
func DropOwned(ctx context.Context, conn *pgx.Conn, name string) error {
	var owner string
	var ownerIsSuper bool
	if err := conn.QueryRow(ctx, `SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_database d
		JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE d.datname = pg_catalog.current_database()`).Scan(&owner, &ownerIsSuper); err != nil {
		return err
	}
	stmt := fmt.Sprintf("DROP OWNED BY %s", ident(name))
	if !ownerIsSuper && owner != name {
		stmt = fmt.Sprintf("REASSIGN OWNED BY %s TO %s; %s", ident(name), ident(owner), stmt)
	}
	_, err := conn.Exec(ctx, stmt)
	return err
}
