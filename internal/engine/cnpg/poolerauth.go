package cnpg

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
)

// How PgBouncer looks up the users who log in through the pooler.
//
// CloudNativePG's own lookup calls public.user_search in the database the
// client asks for. In PostgreSQL 15 the owner of a database owns its
// public schema, and a schema's owner may drop what is in it: the tenant
// who owns a database could replace the lookup with a function of their
// own. So dbaasd runs the lookup itself: a login role of its own (its
// password in a basic-auth secret nobody else reads, made a managed role
// by the operator) calls lookupSchema.user_search, in a schema the
// superuser owns in every database, that nobody else may create in or
// drop. Setting the Pooler's authQuery and authQuerySecret tells the
// operator to leave the lookup alone.
const (
	// lookupRole is the role PgBouncer looks users up with. Names starting
	// with dbaasd are refused for users, so no tenant can take it.
	lookupRole = "dbaasd_pooler"
	// lookupSecret is the lookup role's basic-auth secret.
	lookupSecret = "pooler-lookup"
	// lookupSchema holds the lookup function in every database.
	lookupSchema = "dbaasd_pooler"
	// lookupQuery is PgBouncer's auth_query.
	lookupQuery = "SELECT usename, passwd FROM " + lookupSchema + ".user_search($1)"
	// lookupBody answers for login roles only: never for a superuser, a
	// replication role or the lookup role itself, so that neither the
	// pooler nor whoever learnt the lookup role's password gets their
	// secrets.
	lookupBody = "SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1 " +
		"AND NOT usesuper AND NOT userepl AND usename <> '" + lookupRole + "' " +
		"AND (valuntil IS NULL OR valuntil > pg_catalog.now())"
)

// ensureLookupRole makes the lookup role's secret (once: its password is
// kept across calls) and the managed role, and waits until the operator
// has made the role with that password.
func (d *Driver) ensureLookupRole(ctx context.Context, c *engine.Cluster) error {
	ns := Namespace(c.ID)
	var sec corev1.Secret
	err := d.kc.get(ctx, secretRes, ns, lookupSecret, &sec)
	switch {
	case apierrors.IsNotFound(err):
		pw, err := randomPassword()
		if err != nil {
			return err
		}
		if err := d.ensureSecret(ctx, ns, lookupSecret, c, map[string][]byte{
			corev1.BasicAuthUsernameKey: []byte(lookupRole), corev1.BasicAuthPasswordKey: []byte(pw),
		}, corev1.SecretTypeBasicAuth); err != nil {
			return err
		}
		if err := d.kc.get(ctx, secretRes, ns, lookupSecret, &sec); err != nil {
			return kubeError(err, "get secret %s", lookupSecret)
		}
	case err != nil:
		return kubeError(err, "get secret %s", lookupSecret)
	}
	inherit := false
	role := crd.RoleConfiguration{Name: lookupRole, Ensure: crd.EnsurePresent, Login: true, Inherit: &inherit,
		PasswordSecret: &crd.LocalObjectReference{Name: lookupSecret}}
	if err := d.setRole(ctx, c, role); err != nil {
		return err
	}
	return d.waitRole(ctx, c, lookupRole, sec.ResourceVersion)
}

// randomPassword is 32 random bytes, base64url.
func randomPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lookup role password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ensureLookup makes the lookup in database db: the lookup role may
// connect, and the schema and its function exist as dbaasd defines them.
// A schema of that name someone else owns (the database's owner may make
// one before dbaasd does) is dropped with what is in it first. Without the
// lookup role (the pooler is not made yet) there is nothing to do: making
// the pooler makes the lookup in every database.
func (d *Driver) ensureLookup(ctx context.Context, c *engine.Cluster, db string) error {
	role := false
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)", lookupRole).Scan(&role); err != nil || !role {
			return sqlError(err, "look up role %s", lookupRole)
		}
		_, err := conn.Exec(ctx, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", ident(db), ident(lookupRole)))
		return sqlError(err, "let the pooler's lookup into database %s", db)
	})
	if err != nil || !role {
		return err
	}
	return d.onPrimary(ctx, c, db, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return sqlError(err, "pooler lookup in %s", db)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		var foreign bool
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
			WHERE n.nspname = $1 AND NOT r.rolsuper)`, lookupSchema).Scan(&foreign)
		if err != nil {
			return sqlError(err, "pooler lookup in %s", db)
		}
		var stmts []string
		if foreign {
			stmts = append(stmts, "DROP SCHEMA "+ident(lookupSchema)+" CASCADE")
		}
		fn := ident(lookupSchema) + ".user_search(text)"
		stmts = append(stmts,
			"CREATE SCHEMA IF NOT EXISTS "+ident(lookupSchema)+" AUTHORIZATION "+ident(superuser),
			"REVOKE ALL ON SCHEMA "+ident(lookupSchema)+" FROM PUBLIC",
			"GRANT USAGE ON SCHEMA "+ident(lookupSchema)+" TO "+ident(lookupRole),
			"CREATE OR REPLACE FUNCTION "+ident(lookupSchema)+".user_search(uname text) RETURNS TABLE (usename name, passwd text) "+
				"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $lookup$"+lookupBody+"$lookup$",
			"REVOKE ALL ON FUNCTION "+fn+" FROM PUBLIC",
			"GRANT EXECUTE ON FUNCTION "+fn+" TO "+ident(lookupRole))
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return sqlError(err, "pooler lookup in %s", db)
			}
		}
		return sqlError(tx.Commit(ctx), "pooler lookup in %s", db)
	})
}

// ensureLookups makes the lookup in every database that takes connections.
func (d *Driver) ensureLookups(ctx context.Context, c *engine.Cluster) error {
	var names []string
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
		if err != nil {
			return sqlError(err, "list databases")
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return sqlError(err, "list databases")
	})
	if err != nil {
		return err
	}
	for _, db := range names {
		if err := d.ensureLookup(ctx, c, db); err != nil {
			return err
		}
	}
	return nil
}
