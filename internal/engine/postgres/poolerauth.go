package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// The pooler authenticates clients from its auth_file, which dbaasd keeps
// equal to the primary's login roles (their SCRAM secrets, never
// passwords), rather than by asking the server (auth_query): a login that
// never finishes then costs the pooler no server connection, a flood of
// them cannot exhaust the server's connections or put the pool into its
// login-retry pause, and an unknown user name fails exactly like a wrong
// password. The file is rewritten, and the pooler reloaded, whenever a
// user changes (EnsureUser, DropUser) and on every Ensure.

// poolerUsersFile renders the pooler's auth_file: dbaasd's console user
// (kept from the current file, else a random secret nobody knows: it logs
// in with trust over the private socket), then every login role that is
// not a superuser or dbaasd's own, with its SCRAM secret.
func poolerUsersFile(ctx context.Context, c *engine.Cluster, pp poolerPaths, r *proc.Runner) ([]byte, error) {
	var b bytes.Buffer
	console := ""
	if cur, err := r.ReadFile(pp.users); err == nil {
		if line, _, _ := strings.Cut(string(cur), "\n"); strings.HasPrefix(line, authFileQuote(poolerAdminUser)+" ") {
			console = line
		}
	}
	if console == "" {
		secret, _ := scramSecret(randomSecret())
		console = authFileQuote(poolerAdminUser) + " " + authFileQuote(secret)
	}
	b.WriteString(console + "\n")
	err := onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT rolname::text, rolpassword FROM pg_catalog.pg_authid
			WHERE rolcanlogin AND NOT rolsuper AND rolpassword LIKE 'SCRAM-SHA-256$%'
			  AND (rolvaliduntil IS NULL OR rolvaliduntil > pg_catalog.now()) AND rolname <> ALL($1)
			ORDER BY rolname`, []string{superuser, poolerAuthRole, poolerAdminUser})
		if err != nil {
			return err
		}
		var name, secret string
		_, err = pgx.ForEachRow(rows, []any{&name, &secret}, func() error {
			fmt.Fprintf(&b, "%s %s\n", authFileQuote(name), authFileQuote(secret))
			return nil
		})
		return err
	})
	if err != nil {
		return nil, sqlError(err, "pooler: list users")
	}
	return b.Bytes(), nil
}

// authFileQuote quotes a name or secret for PgBouncer's auth_file.
func authFileQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// refreshPoolerUsers rewrites the pooler's auth_file after a user changed
// and makes a running pooler reload it.
func (d *Driver) refreshPoolerUsers(ctx context.Context, c *engine.Cluster) error {
	if c.Pooler == nil || c.Dir == "" {
		return nil
	}
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		return err
	}
	pp := poolerPathsOf(c)
	users, err := poolerUsersFile(ctx, c, pp, e.r)
	if err != nil {
		return err
	}
	changed, err := e.r.WriteFile(pp.users, users, 0o600)
	if err != nil || !changed {
		return err
	}
	pid := poolerPID(e.r, pp)
	if pid == 0 {
		return nil // Ensure starts it with the new file
	}
	if err := poolerAdmin(ctx, c, pp, "RELOAD"); err != nil {
		d.log.Warn("pooler console RELOAD failed; sending SIGHUP", "datastore_id", c.ID, "error", err)
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("pooler: reload: %w", err)
		}
	}
	return nil
}

// randomSecret is a password nobody knows.
func randomSecret() string {
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}
