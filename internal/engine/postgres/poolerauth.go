package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// ensurePoolerAuth creates the pooler's lookup role and installs its
// SECURITY DEFINER lookup function in every database clients can use; the
// function returns the SCRAM secret of login roles that are not superusers.
func (d *Driver) ensurePoolerAuth(ctx context.Context, c *engine.Cluster) error {
	type dbRow struct {
		oid  uint32
		name string
	}
	var dbs []dbRow
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %[1]s) THEN CREATE ROLE %[2]s LOGIN; END IF;
			END $$`, literal(poolerAuthRole), ident(poolerAuthRole))); err != nil {
			return sqlError(err, "pooler: create role %s", poolerAuthRole)
		}
		rows, err := conn.Query(ctx, "SELECT oid, datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
		if err != nil {
			return sqlError(err, "pooler: list databases")
		}
		var r dbRow
		_, err = pgx.ForEachRow(rows, []any{&r.oid, &r.name}, func() error { dbs = append(dbs, r); return nil })
		return err
	})
	if err != nil {
		return err
	}
	for _, db := range dbs {
		d.mu.Lock()
		ready := d.authReady[c.ID][db.oid]
		d.mu.Unlock()
		if ready {
			continue
		}
		err := onPrimary(ctx, c, db.name, func(conn *pgx.Conn) error {
			return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				role := ident(poolerAuthRole)
				for _, s := range []string{
					fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", ident(db.name), role),
					// The schema must be the superuser's: one a tenant made
					// under this name (its owner could replace the lookup)
					// goes first.
					`DO $s$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
						WHERE n.nspname = 'dbaasd_pgbouncer' AND NOT r.rolsuper) THEN DROP SCHEMA dbaasd_pgbouncer CASCADE; END IF; END $s$`,
					"CREATE SCHEMA IF NOT EXISTS dbaasd_pgbouncer AUTHORIZATION " + ident(superuser),
					"REVOKE ALL ON SCHEMA dbaasd_pgbouncer FROM PUBLIC",
					"GRANT USAGE ON SCHEMA dbaasd_pgbouncer TO " + role,
					`CREATE OR REPLACE FUNCTION dbaasd_pgbouncer.user_lookup(i_username text, OUT uname text, OUT phash text)
					RETURNS record LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
						SELECT rolname::text, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END
						FROM pg_catalog.pg_authid
						WHERE rolname = i_username AND rolcanlogin AND NOT rolsuper
					$f$`,
					"REVOKE ALL ON FUNCTION dbaasd_pgbouncer.user_lookup(text) FROM PUBLIC",
					"GRANT EXECUTE ON FUNCTION dbaasd_pgbouncer.user_lookup(text) TO " + role,
				} {
					if _, err := tx.Exec(ctx, s); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if isMissingDatabase(err) {
			continue
		}
		if err != nil {
			return sqlError(err, "pooler: install the user lookup in database %s", db.name)
		}
		d.mu.Lock()
		if d.authReady[c.ID] == nil {
			d.authReady[c.ID] = map[uint32]bool{}
		}
		d.authReady[c.ID][db.oid] = true
		d.mu.Unlock()
	}
	return nil
}
