package cnpg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

// EnsureUser implements engine.UserManager: the user is a managed role
// of the Cluster with its password in a secret; it returns once the
// operator reports the role reconciled with that secret's version.
func (d *Driver) EnsureUser(ctx context.Context, c *engine.Cluster, u engine.User) error {
	if err := checkName("user", u.Name); err != nil {
		return err
	}
	ns := kube.Namespace(c.ID)
	secret := userSecret(u.Name)
	if err := d.ensureSecret(ctx, ns, secret, c, map[string][]byte{
		corev1.BasicAuthUsernameKey: []byte(u.Name), corev1.BasicAuthPasswordKey: []byte(u.Password),
	}, corev1.SecretTypeBasicAuth); err != nil {
		return err
	}
	var sec corev1.Secret
	if err := d.kc.Get(ctx, kube.Secrets, ns, secret, &sec); err != nil {
		return kube.Error(err, "get secret")
	}
	inherit := true
	role := crd.RoleConfiguration{Name: u.Name, Ensure: crd.EnsurePresent, Login: true, Inherit: &inherit,
		PasswordSecret: &crd.LocalObjectReference{Name: secret}}
	if err := d.setRole(ctx, c, role); err != nil {
		return err
	}
	return d.waitRole(ctx, c, u.Name, sec.ResourceVersion)
}

// DropUser implements engine.UserManager: what the user owns goes as the
// local runtime's does (postgres.DropOwned: to the database's owner, never
// to the superuser), then the operator drops the role.
func (d *Driver) DropUser(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkName("user", name); err != nil {
		return err
	}
	var databases []string
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) (err error) {
		databases, err = postgres.EndUserSessions(ctx, conn, name)
		return err
	})
	if err != nil {
		return err
	}
	for _, db := range databases {
		err := d.onPrimary(ctx, c, db, func(conn *pgx.Conn) error { return postgres.DropOwned(ctx, conn, name) })
		if err != nil {
			return sqlError(err, "drop the objects of user %s in database %s", name, db)
		}
	}
	if err := d.setRole(ctx, c, crd.RoleConfiguration{Name: name, Ensure: crd.EnsureAbsent}); err != nil {
		return err
	}
	if err := d.waitRole(ctx, c, name, ""); err != nil {
		return err
	}
	if err := d.kc.Remove(ctx, kube.Secrets, kube.Namespace(c.ID), userSecret(name), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "delete secret")
	}
	return nil
}

// setRole puts role into the Cluster's managed roles (replacing one of
// the same name).
func (d *Driver) setRole(ctx context.Context, c *engine.Cluster, role crd.RoleConfiguration) error {
	cl := &crd.Cluster{}
	if err := d.kc.Get(ctx, clusterRes, kube.Namespace(c.ID), clusterName, cl); err != nil {
		return kube.Error(err, "get cluster")
	}
	before := kube.Snapshot(cl)
	if cl.Spec.Managed == nil {
		cl.Spec.Managed = &crd.ManagedConfiguration{}
	}
	roles := cl.Spec.Managed.Roles
	i := slices.IndexFunc(roles, func(r crd.RoleConfiguration) bool { return r.Name == role.Name })
	if i >= 0 {
		if equalRole(roles[i], role) {
			return nil
		}
		roles[i] = role
	} else {
		roles = append(roles, role)
	}
	cl.Spec.Managed.Roles = roles
	return kube.Error(d.kc.Patch(ctx, clusterRes, before, cl), "set managed role %s", role.Name)
}

func equalRole(a, b crd.RoleConfiguration) bool {
	ref := func(r *crd.LocalObjectReference) string {
		if r == nil {
			return ""
		}
		return r.Name
	}
	return a.Name == b.Name && a.Ensure == b.Ensure && a.Login == b.Login && ref(a.PasswordSecret) == ref(b.PasswordSecret)
}

// waitRole waits until the operator reconciled the role; with a secret
// version, until it applied that version of the password.
func (d *Driver) waitRole(ctx context.Context, c *engine.Cluster, name, secretVersion string) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for {
		cl := &crd.Cluster{}
		if err := d.kc.Get(ctx, clusterRes, kube.Namespace(c.ID), clusterName, cl); err != nil {
			return kube.Error(err, "get cluster")
		}
		st := cl.Status.ManagedRolesStatus
		if why, bad := st.CannotReconcile[name]; bad {
			return fmt.Errorf("%w: user %s: %s", engine.ErrInvalid, name, strings.Join(why, "; "))
		}
		done := slices.Contains(st.ByStatus[crd.RoleStatusReconciled], name)
		if done && secretVersion != "" {
			done = st.PasswordStatus[name].SecretResourceVersion == secretVersion
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("user %s not reconciled by the operator: %w", name, ctx.Err())
		case <-time.After(d.opts.Poll / 2):
		}
	}
}

// EnsureDatabase implements engine.DatabaseManager with a CNPG Database.
func (d *Driver) EnsureDatabase(ctx context.Context, c *engine.Cluster, db engine.Database) error {
	if err := checkName("database", db.Name); err != nil {
		return err
	}
	owner := db.Owner
	if owner == "" {
		owner = superuser
	}
	obj := &crd.Database{ObjectMeta: metav1.ObjectMeta{Name: databaseObject(db.Name), Namespace: kube.Namespace(c.ID)}}
	err := d.kc.Apply(ctx, databaseRes, obj, func() error {
		if obj.Labels == nil {
			obj.Labels = map[string]string{}
		}
		for k, v := range kube.Labels(c) {
			obj.Labels[k] = v
		}
		obj.Spec.ClusterRef.Name = clusterName
		obj.Spec.Name = db.Name
		obj.Spec.Owner = owner
		obj.Spec.Ensure = crd.EnsurePresent
		obj.Spec.ReclaimPolicy = crd.DatabaseReclaimDelete
		if obj.CreationTimestamp.IsZero() {
			obj.Spec.LcCollate, obj.Spec.LcCtype = db.LcCollate, db.LcCtype
			if db.LcCollate != "" || db.LcCtype != "" {
				obj.Spec.Template = "template0"
			}
		}
		return nil
	})
	if err != nil {
		return kube.Error(err, "apply database %s", db.Name)
	}
	if err := d.waitDatabase(ctx, c, db.Name); err != nil {
		return err
	}
	// As with the local runtime, only the owner and the users granted it
	// may connect (PostgreSQL lets PUBLIC connect to a new database); the
	// pooler's lookup role may too, and finds its function there.
	err = d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident(db.Name)))
		return sqlError(err, "restrict database %s", db.Name)
	})
	if err != nil || c.Pooler == nil {
		return err
	}
	return d.ensureLookup(ctx, c, db.Name)
}

// waitDatabase waits until the operator applied the Database object.
func (d *Driver) waitDatabase(ctx context.Context, c *engine.Cluster, name string) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for {
		obj := &crd.Database{}
		if err := d.kc.Get(ctx, databaseRes, kube.Namespace(c.ID), databaseObject(name), obj); err != nil {
			return kube.Error(err, "get database %s", name)
		}
		st := obj.Status
		if st.ObservedGeneration == obj.Generation && st.Applied != nil {
			if *st.Applied {
				if bad := failedExtension(st.Extensions); bad != "" {
					return fmt.Errorf("%w: database %s: %s", engine.ErrInvalid, name, bad)
				}
				return nil
			}
			if st.Message != "" {
				return fmt.Errorf("%w: database %s: %s", engine.ErrInvalid, name, st.Message)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("database %s not applied by the operator: %s: %w", name, st.Message, ctx.Err())
		case <-time.After(d.opts.Poll / 2):
		}
	}
}

func failedExtension(list []crd.DatabaseObjectStatus) string {
	for _, e := range list {
		if !e.Applied {
			return "extension " + e.Name + ": " + e.Message
		}
	}
	return ""
}

// DropDatabase implements engine.DatabaseManager: its sessions end, then
// the Database object goes and the operator drops the database.
func (d *Driver) DropDatabase(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkName("database", name); err != nil {
		return err
	}
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH ALLOW_CONNECTIONS false"); err != nil {
			var pgErr interface{ SQLState() string }
			if errors.As(err, &pgErr) && pgErr.SQLState() == "3D000" {
				return nil
			}
			return sqlError(err, "close database %s", name)
		}
		_, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
		return sqlError(err, "end the sessions of database %s", name)
	})
	if err != nil {
		return err
	}
	ns := kube.Namespace(c.ID)
	if err := d.kc.Remove(ctx, databaseRes, ns, databaseObject(name), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "delete database %s", name)
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for {
		err := d.kc.Get(ctx, databaseRes, ns, databaseObject(name), &crd.Database{})
		if apierrors.IsNotFound(err) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("database %s not dropped by the operator: %w", name, ctx.Err())
		case <-time.After(d.opts.Poll / 2):
		}
	}
	// The operator's finalizer dropped it; a database that was never a
	// Database object (or survived) goes here.
	return d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
		return sqlError(err, "drop database %s", name)
	})
}

// defaultACLTypes are the kinds of objects default privileges cover.
var defaultACLTypes = []string{"TABLES", "SEQUENCES", "FUNCTIONS", "TYPES"}

// EnsureGrant implements engine.DatabaseManager as the local runtime does:
// the user may connect, create and use temporary tables in the database
// and has every privilege in its public schema, on what is there and on
// what its owner and the superuser create later.
func (d *Driver) EnsureGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkName("user", g.User); err != nil {
		return err
	}
	if err := checkName("database", g.Database); err != nil {
		return err
	}
	var owner string
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %s TO %s",
			ident(g.Database), ident(g.User))); err != nil {
			return sqlError(err, "grant database %s to %s", g.Database, g.User)
		}
		return sqlError(conn.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", g.Database).Scan(&owner),
			"owner of database %s", g.Database)
	})
	if err != nil {
		return err
	}
	u := ident(g.User)
	creators := ident(superuser)
	if owner != "" && owner != superuser && owner != g.User {
		creators += ", " + ident(owner)
	}
	stmts := []string{
		"GRANT ALL ON SCHEMA public TO " + u,
		"GRANT ALL ON ALL TABLES IN SCHEMA public TO " + u,
		"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + u,
		"GRANT ALL ON ALL FUNCTIONS IN SCHEMA public TO " + u,
	}
	for _, typ := range defaultACLTypes {
		stmts = append(stmts, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT ALL ON %s TO %s", creators, typ, u))
	}
	return d.onPrimary(ctx, c, g.Database, func(conn *pgx.Conn) error {
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				return sqlError(err, "grant %s to %s", g.Database, g.User)
			}
		}
		return nil
	})
}

// DropGrant implements engine.DatabaseManager: what EnsureGrant gave goes.
func (d *Driver) DropGrant(ctx context.Context, c *engine.Cluster, g engine.Grant) error {
	if err := checkName("user", g.User); err != nil {
		return err
	}
	if err := checkName("database", g.Database); err != nil {
		return err
	}
	u := ident(g.User)
	err := d.onPrimary(ctx, c, g.Database, func(conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", g.User).Scan(&exists); err != nil || !exists {
			return sqlError(err, "look up user %s", g.User)
		}
		stmts := []string{
			"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + u,
			"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + u,
			"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM " + u,
			"REVOKE ALL ON SCHEMA public FROM " + u,
		}
		for _, typ := range defaultACLTypes {
			stmts = append(stmts, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public REVOKE ALL ON %s FROM %s", ident(superuser), typ, u))
		}
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				return sqlError(err, "revoke %s from %s", g.Database, g.User)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s", ident(g.Database), u))
		return sqlError(err, "revoke database %s from %s", g.Database, g.User)
	})
}

// EnsureExtension implements engine.ExtensionManager through the
// database's Database object.
func (d *Driver) EnsureExtension(ctx context.Context, c *engine.Cluster, e engine.Extension) error {
	return d.setExtension(ctx, c, e, crd.EnsurePresent)
}

// DropExtension implements engine.ExtensionManager.
func (d *Driver) DropExtension(ctx context.Context, c *engine.Cluster, e engine.Extension) error {
	return d.setExtension(ctx, c, e, crd.EnsureAbsent)
}

func (d *Driver) setExtension(ctx context.Context, c *engine.Cluster, e engine.Extension, ensure string) error {
	if err := checkName("extension", e.Name); err != nil {
		return err
	}
	obj := &crd.Database{}
	if err := d.kc.Get(ctx, databaseRes, kube.Namespace(c.ID), databaseObject(e.Database), obj); err != nil {
		if apierrors.IsNotFound(err) && ensure == crd.EnsureAbsent {
			return nil
		}
		return kube.Error(err, "get database %s", e.Database)
	}
	before := kube.Snapshot(obj)
	ext := crd.ExtensionSpec{DatabaseObjectSpec: crd.DatabaseObjectSpec{Name: e.Name, Ensure: ensure}}
	i := slices.IndexFunc(obj.Spec.Extensions, func(x crd.ExtensionSpec) bool { return x.Name == e.Name })
	switch {
	case i >= 0 && obj.Spec.Extensions[i].Ensure == ensure:
	case i >= 0:
		obj.Spec.Extensions[i] = ext
	default:
		obj.Spec.Extensions = append(obj.Spec.Extensions, ext)
	}
	if err := d.kc.Patch(ctx, databaseRes, before, obj); err != nil {
		return kube.Error(err, "set extension %s in database %s", e.Name, e.Database)
	}
	return d.waitDatabase(ctx, c, e.Database)
}

// EnsureSlot implements engine.SlotManager: a logical replication slot
// (pgoutput) on the primary.
func (d *Driver) EnsureSlot(ctx context.Context, c *engine.Cluster, s engine.Slot) error {
	if err := checkName("slot", s.Name); err != nil {
		return err
	}
	return d.onPrimary(ctx, c, s.Database, func(conn *pgx.Conn) error { return postgres.EnsureLogicalSlot(ctx, conn, s) })
}

// DropSlot implements engine.SlotManager.
func (d *Driver) DropSlot(ctx context.Context, c *engine.Cluster, name string) error {
	return d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error { return postgres.DropLogicalSlot(ctx, conn, name) })
}

// Slots implements engine.SlotManager.
func (d *Driver) Slots(ctx context.Context, c *engine.Cluster) ([]engine.SlotState, error) {
	var out []engine.SlotState
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) (err error) {
		out, err = postgres.LogicalSlots(ctx, conn)
		return err
	})
	return out, err
}
