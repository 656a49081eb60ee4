package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// installSchema is a schema dbaasd creates, owned by the superuser, for the
// moment an extension's script runs.
const installSchema = "dbaasd_install"

// EnsureExtension installs an extension, and the extensions it requires,
// in a database.
//
// An extension's script runs as the superuser with the target schema first
// in its search_path: were that public, where tenants create objects, a
// function or operator of theirs matching a call of the script better than
// the real one would run as the superuser. So the script runs in a fresh
// schema of the superuser's, holding nothing but what the script creates,
// and the extension moves to public afterwards (every extension of
// PostgreSQL's contrib that may be moved can be). Extensions that must stay
// where they were created go to a schema of their own name, usable by
// everyone; those whose control file fixes their schema (plpgsql,
// adminpack) are created there. All in one transaction.
func (d *Driver) EnsureExtension(ctx context.Context, c *engine.Cluster, e engine.Extension) error {
	if err := checkName("extension", e.Name); err != nil {
		return err
	}
	if err := checkName("database", e.Database); err != nil {
		return err
	}
	return onPrimary(ctx, c, e.Database, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var installed bool
			var fixedSchema *string
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1),
				(SELECT v.schema::text FROM pg_catalog.pg_available_extension_versions v
				 JOIN pg_catalog.pg_available_extensions a ON a.name = v.name AND a.default_version = v.version
				 WHERE v.name = $1)`, e.Name).Scan(&installed, &fixedSchema)
			if err != nil {
				return sqlError(err, "look up extension %s in database %s", e.Name, e.Database)
			}
			if installed {
				return nil
			}
			if fixedSchema != nil {
				if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE EXTENSION %s CASCADE", ident(e.Name))); err != nil {
					return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
				}
				return nil
			}
			if err := freshSchema(ctx, tx, installSchema); err != nil {
				return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE EXTENSION %s SCHEMA %s CASCADE", ident(e.Name), ident(installSchema))); err != nil {
				return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
			}
			rows, err := tx.Query(ctx, `SELECT extname::text, extrelocatable FROM pg_catalog.pg_extension
				WHERE extnamespace = $1::regnamespace ORDER BY extname`, installSchema)
			if err != nil {
				return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
			}
			type ext struct {
				name        string
				relocatable bool
			}
			var exts []ext
			var x ext
			if _, err := pgx.ForEachRow(rows, []any{&x.name, &x.relocatable}, func() error { exts = append(exts, x); return nil }); err != nil {
				return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
			}
			stay := ""
			for _, x := range exts {
				if !x.relocatable {
					stay = x.name
					continue
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER EXTENSION %s SET SCHEMA public", ident(x.name))); err != nil {
					return sqlError(err, "move extension %s to schema public in database %s", x.name, e.Database)
				}
			}
			stmt := "DROP SCHEMA " + ident(installSchema)
			if stay != "" {
				stmt = fmt.Sprintf("ALTER SCHEMA %s RENAME TO %s; GRANT USAGE ON SCHEMA %[2]s TO PUBLIC", ident(installSchema), ident(stay))
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
			}
			return nil
		})
	})
}

// freshSchema makes name an empty schema of the superuser: one left by an
// interrupted attempt goes, and so does one a tenant made under that name.
func freshSchema(ctx context.Context, tx pgx.Tx, name string) error {
	if _, err := tx.Exec(ctx, fmt.Sprintf("DROP SCHEMA IF EXISTS %s CASCADE", ident(name))); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s", ident(name), ident(superuser)))
	return err
}

// DropExtension removes an extension from a database. It refuses (with the
// server's message) while other extensions or objects depend on it; a
// missing extension or database is not an error.
func (d *Driver) DropExtension(ctx context.Context, c *engine.Cluster, e engine.Extension) error {
	if err := checkName("extension", e.Name); err != nil {
		return err
	}
	if err := checkName("database", e.Database); err != nil {
		return err
	}
	err := onPrimary(ctx, c, e.Database, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP EXTENSION IF EXISTS %s", ident(e.Name))); err != nil {
			return sqlError(err, "drop extension %s in database %s", e.Name, e.Database)
		}
		return nil
	})
	if isMissingDatabase(err) {
		return nil
	}
	return err
}

// isMissingDatabase reports a connection refused because the database does not exist.
func isMissingDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "3D000"
}
