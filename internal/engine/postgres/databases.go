package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// reservedDatabases are PostgreSQL's own databases; users cannot create,
// drop or be granted them.
var reservedDatabases = map[string]bool{"postgres": true, "template0": true, "template1": true}

func checkDatabaseName(name string) error {
	if err := checkName("database", name); err != nil {
		return err
	}
	if reservedDatabases[name] {
		return fmt.Errorf("%w: database name %q is reserved by PostgreSQL", engine.ErrInvalid, name)
	}
	return nil
}

// EnsureDatabase creates a database (from template0, UTF8, with the given
// or the cluster's default locale) or gives an existing one its owner. A
// locale different from an existing database's is an error: it cannot
// change. Only the owner and granted users may connect (CONNECT is revoked
// from PUBLIC).
func (d *Driver) EnsureDatabase(ctx context.Context, c *engine.Cluster, db engine.Database) error {
	if err := checkDatabaseName(db.Name); err != nil {
		return err
	}
	owner := db.Owner
	if owner == "" {
		owner = superuser
	} else if err := checkName("user", owner); err != nil {
		return err
	}
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		var curOwner, collate, ctype string
		err := conn.QueryRow(ctx, "SELECT pg_get_userbyid(datdba), datcollate, datctype FROM pg_database WHERE datname = $1",
			db.Name).Scan(&curOwner, &collate, &ctype)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			stmt := fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING 'UTF8'", ident(db.Name), ident(owner))
			if db.LcCollate != "" {
				stmt += " LC_COLLATE " + literal(db.LcCollate)
			}
			if db.LcCtype != "" {
				stmt += " LC_CTYPE " + literal(db.LcCtype)
			}
			d.log.Info("creating database", "datastore_id", c.ID, "database", db.Name, "owner", owner)
			if _, err := conn.Exec(ctx, stmt); err != nil {
				return sqlError(err, "create database %s", db.Name)
			}
		case err != nil:
			return sqlError(err, "look up database %s", db.Name)
		default:
			if db.LcCollate != "" && db.LcCollate != collate || db.LcCtype != "" && db.LcCtype != ctype {
				return fmt.Errorf("%w: database %s exists with LC_COLLATE %q and LC_CTYPE %q, which cannot change",
					engine.ErrInvalid, db.Name, collate, ctype)
			}
			if curOwner != owner {
				if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", ident(db.Name), ident(owner))); err != nil {
					return sqlError(err, "change the owner of database %s", db.Name)
				}
			}
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident(db.Name))); err != nil {
			return sqlError(err, "restrict database %s", db.Name)
		}
		return nil
	})
	return err
}

// DropDatabase drops a database, ending its sessions and dropping its
// logical replication slots first. Dropping a missing database does nothing.
func (d *Driver) DropDatabase(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkDatabaseName(name); err != nil {
		return err
	}
	return onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, "SELECT slot_name FROM pg_replication_slots WHERE database = $1", name)
		if err != nil {
			return sqlError(err, "list the slots of database %s", name)
		}
		slots, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return sqlError(err, "list the slots of database %s", name)
		}
		for _, s := range slots {
			if err := dropSlot(ctx, conn, s); err != nil {
				return err
			}
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident(name))); err != nil {
			return sqlError(err, "drop database %s", name)
		}
		return nil
	})
}

// defaultACLTypes are the object kinds that get default privileges.
var defaultACLTypes = []string{"TABLES", "SEQUENCES", "FUNCTIONS", "TYPES"}

// defaultACLType maps pg_default_acl.defaclobjtype to its keyword.
var defaultACLType = map[string]string{"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}

// EnsureGrant gives a user full use of a database: CONNECT, TEMPORARY and
// CREATE on it; all privileges on schema public and everything in it; and
// default privileges so that what the user, the owner, the other granted
// users or the superuser create in public later is usable by each other.
//
// Functions are the exception: the user gets those of the other users, not
// those of the superuser (extensions' functions), whose EXECUTE is PUBLIC's
// unless the extension revoked it because it lets a caller bypass the
// server's checks (dblink_connect_u connects without a password: as the
// superuser, over the Unix socket). What an extension revoked stays
// revoked.
func (d *Driver) EnsureGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkRoleName(g.User); err != nil {
		return err
	}
	if err := checkDatabaseName(g.Database); err != nil {
		return err
	}
	var peers []string // the owner and the other granted users
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %s TO %s",
			ident(g.Database), ident(g.User))); err != nil {
			return sqlError(err, "grant database %s to %s", g.Database, g.User)
		}
		rows, err := conn.Query(ctx, `SELECT DISTINCT r.rolname FROM pg_database d
			CROSS JOIN LATERAL aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
			WHERE d.datname = $1 AND a.privilege_type = 'CONNECT' AND NOT r.rolsuper AND r.rolname <> ALL($2)
			UNION SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1
			ORDER BY 1`, g.Database, []string{g.User, superuser, poolerAuthRole})
		if err != nil {
			return sqlError(err, "list the users of database %s", g.Database)
		}
		peers, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return err
	}
	u := ident(g.User)
	var others []string
	for _, p := range peers {
		if p != g.User && p != superuser {
			others = append(others, ident(p))
		}
	}
	creators := append([]string{ident(superuser)}, others...)
	stmts := []string{
		"GRANT ALL ON SCHEMA public TO " + u,
		"GRANT ALL ON ALL TABLES IN SCHEMA public TO " + u,
		"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + u,
		fmt.Sprintf(`DO $g$ DECLARE f regprocedure; BEGIN
			FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
				WHERE p.pronamespace = 'public'::regnamespace AND NOT r.rolsuper LOOP
				EXECUTE pg_catalog.format('GRANT ALL ON FUNCTION %%s TO %%I', f, %s);
			END LOOP;
			-- Grants an earlier dbaasd gave on the superuser's functions go.
			FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
				WHERE p.pronamespace = 'public'::regnamespace AND r.rolsuper LOOP
				EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %%s FROM %%I', f, %s);
			END LOOP; END $g$`, literal(g.User), literal(g.User)),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM %s", ident(superuser), u),
	}
	for _, typ := range defaultACLTypes {
		from := creators
		if typ == "FUNCTIONS" {
			from = others
		}
		if len(from) == 0 {
			continue
		}
		stmts = append(stmts, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT ALL ON %s TO %s",
			strings.Join(from, ", "), typ, u))
		if len(others) > 0 {
			stmts = append(stmts, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT ALL ON %s TO %s",
				u, typ, strings.Join(others, ", ")))
		}
	}
	return onPrimary(ctx, c, g.Database, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s); err != nil {
					return sqlError(err, "grant database %s to %s", g.Database, g.User)
				}
			}
			return nil
		})
	})
}

// DropGrant takes back what EnsureGrant gave. The database's owner keeps
// the rights ownership gives; dropping a grant of a missing user or
// database does nothing.
func (d *Driver) DropGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkRoleName(g.User); err != nil {
		return err
	}
	if err := checkDatabaseName(g.Database); err != nil {
		return err
	}
	skip := false
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		var roleExists bool
		var owner *string
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
			(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $2)`, g.User, g.Database).Scan(&roleExists, &owner); err != nil {
			return sqlError(err, "look up grant of %s to %s", g.Database, g.User)
		}
		if !roleExists || owner == nil || *owner == g.User {
			skip = true
			return nil
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s", ident(g.Database), ident(g.User))); err != nil {
			return sqlError(err, "revoke database %s from %s", g.Database, g.User)
		}
		return nil
	})
	if err != nil || skip {
		return err
	}
	u := ident(g.User)
	return onPrimary(ctx, c, g.Database, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			stmts := []string{
				"REVOKE ALL ON SCHEMA public FROM " + u,
				"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + u,
				"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + u,
				"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM " + u,
			}
			// Default privileges given to the user, and given by the user to others.
			rows, err := tx.Query(ctx, `WITH u AS (SELECT oid FROM pg_roles WHERE rolname = $1)
				SELECT pg_get_userbyid(d.defaclrole), d.defaclobjtype::text, pg_get_userbyid(a.grantee)
				FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a, u
				WHERE d.defaclnamespace = 'public'::regnamespace
				  AND (a.grantee = u.oid OR d.defaclrole = u.oid) AND a.grantee <> d.defaclrole`, g.User)
			if err != nil {
				return sqlError(err, "list default privileges of %s", g.User)
			}
			var role, typ, grantee string
			seen := map[string]bool{}
			if _, err := pgx.ForEachRow(rows, []any{&role, &typ, &grantee}, func() error {
				kw, ok := defaultACLType[typ]
				if !ok || kw == "SCHEMAS" {
					return nil
				}
				s := fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public REVOKE ALL ON %s FROM %s", ident(role), kw, ident(grantee))
				if !seen[s] {
					seen[s] = true
					stmts = append(stmts, s)
				}
				return nil
			}); err != nil {
				return sqlError(err, "list default privileges of %s", g.User)
			}
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s); err != nil {
					return sqlError(err, "revoke database %s from %s", g.Database, g.User)
				}
			}
			return nil
		})
	})
}
