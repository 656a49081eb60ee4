package cnpg

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/pki"
)

// How PgBouncer looks up the users who log in through the pooler.
//
// CloudNativePG's own lookup calls public.user_search in the database the
// client asks for. In PostgreSQL 15 the owner of a database owns its
// public schema, and a schema's owner may drop what is in it: the tenant
// who owns a database could replace the lookup with a function of their
// own. So dbaasd runs the lookup itself: a login role of its own (made a
// managed role by the operator, without a password) logs in with a client
// certificate signed by the cluster's CA and calls
// lookupSchema.user_search, in a schema the superuser owns in every
// database, that nobody else may create in or drop. Setting the Pooler's
// authQuery and authQuerySecret (the certificate's TLS secret) tells the
// operator to leave the lookup alone.
//
// PgBouncer presents that certificate on every connection it makes to the
// servers (CloudNativePG sets server_tls_cert_file from a TLS auth
// secret), which is how the servers tell their pooler from any other pod:
// the pod network is admitted past a firewall only with a certificate of
// the cluster's CA (hbaRules).
const (
	// lookupRole is the role PgBouncer looks users up with. Names starting
	// with dbaasd are refused for users, so no tenant can take it.
	lookupRole = "dbaasd_pooler"
	// lookupSecret is the lookup role's client certificate (a TLS secret).
	lookupSecret = "pooler-client"
	// lookupSchema holds the lookup function in every database.
	lookupSchema = "dbaasd_pooler"
	// lookupQuery is PgBouncer's auth_query.
	lookupQuery = "SELECT usename, passwd FROM " + lookupSchema + ".user_search($1)"
	// lookupBody answers for login roles only: never for a superuser, a
	// replication role or the lookup role itself, so that neither the
	// pooler nor whoever took its certificate gets their secrets.
	lookupBody = "SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1 " +
		"AND NOT usesuper AND NOT userepl AND usename <> '" + lookupRole + "' " +
		"AND (valuntil IS NULL OR valuntil > pg_catalog.now())"
)

// ensureLookupRole makes the lookup role's client certificate (kept
// while it is valid for more than clientCertRenew and signed by the
// cluster's current client CA) and the managed role, and waits until the
// operator has made the role.
func (d *Driver) ensureLookupRole(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	var ca corev1.Secret
	if err := d.kc.Get(ctx, kube.Secrets, ns, clusterName+"-ca", &ca); err != nil {
		return kube.Error(err, "get the cluster's client CA")
	}
	var sec corev1.Secret
	err := d.kc.Get(ctx, kube.Secrets, ns, lookupSecret, &sec)
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "get secret %s", lookupSecret)
	}
	crt, key, err := lookupCertificate(ca.Data["ca.crt"], ca.Data["ca.key"], sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey], time.Now())
	if err != nil {
		return fmt.Errorf("pooler lookup certificate: %w", err)
	}
	if crt != nil {
		if err := d.ensureSecret(ctx, ns, lookupSecret, c, map[string][]byte{
			corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key,
		}, corev1.SecretTypeTLS); err != nil {
			return err
		}
	}
	inherit := false
	role := crd.RoleConfiguration{Name: lookupRole, Ensure: crd.EnsurePresent, Login: true, Inherit: &inherit, DisablePassword: true}
	if err := d.setRole(ctx, c, role); err != nil {
		return err
	}
	return d.waitRole(ctx, c, lookupRole, "")
}

// clientCertValidity is how long a lookup certificate is valid; it is
// made again at the pooler's next Ensure once less than clientCertRenew
// of it is left, or once the cluster's CA signs with another key.
const (
	clientCertValidity = 10 * 365 * 24 * time.Hour
	clientCertRenew    = 30 * 24 * time.Hour
)

// lookupLeaf is the lookup role's client certificate.
var lookupLeaf = pki.Leaf{
	CommonName: lookupRole,
	Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	Lifetime:   clientCertValidity,
}

// lookupCertificate returns a new certificate and key for the lookup
// role, signed by the cluster's CA (PEM certificate and key, as
// CloudNativePG keeps them), unless crt and key are a valid one; then it
// returns nil.
func lookupCertificate(caCrt, caKey, crt, key []byte, now time.Time) (newCrt, newKey []byte, err error) {
	ca, err := pki.ParseCA(caCrt, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("the cluster's CA: %w", err)
	}
	if ca.Valid(crt, key, lookupLeaf, now.Add(clientCertRenew)) {
		return nil, nil, nil
	}
	return ca.Issue(lookupLeaf, now)
}

// ensureLookup makes the lookup in database db: the lookup role may
// connect, and the schema and its function exist as dbaasd defines them.
// A schema of that name someone else owns (the database's owner may make
// one before dbaasd does) is dropped with what is in it first. Without the
// lookup role (the pooler is not made yet) there is nothing to do: making
// the pooler makes the lookup in every database.
func (d *Driver) ensureLookup(ctx context.Context, c *engine.Cluster, db string) error {
	return d.makeLookups(ctx, c, []string{db})
}

// ensureLookups makes the lookup in every database that takes connections.
func (d *Driver) ensureLookups(ctx context.Context, c *engine.Cluster) error {
	return d.makeLookups(ctx, c, nil)
}

// makeLookups makes the lookup in the databases dbs (nil: every database
// that takes connections): in one session on the postgres database, the
// lookup role may connect to each; then, in each, the schema and the
// function.
func (d *Driver) makeLookups(ctx context.Context, c *engine.Cluster, dbs []string) error {
	role := false
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)", lookupRole).Scan(&role); err != nil || !role {
			return sqlError(err, "look up role %s", lookupRole)
		}
		if dbs == nil {
			rows, err := conn.Query(ctx, "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
			if err != nil {
				return sqlError(err, "list databases")
			}
			if dbs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return sqlError(err, "list databases")
			}
		}
		for _, db := range dbs {
			if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", ident(db), ident(lookupRole))); err != nil {
				return sqlError(err, "let the pooler's lookup into database %s", db)
			}
		}
		return nil
	})
	if err != nil || !role {
		return err
	}
	for _, db := range dbs {
		if err := d.onPrimary(ctx, c, db, func(conn *pgx.Conn) error { return lookupFunction(ctx, conn, db) }); err != nil {
			return err
		}
	}
	return nil
}

// lookupFunction makes the lookup schema and function in the database
// conn is on, in one transaction.
func lookupFunction(ctx context.Context, conn *pgx.Conn, db string) error {
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
}
