package cnpg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

// primaryNode is the node the operator reports as the current primary.
func (d *Driver) primaryNode(ctx context.Context, c *engine.Cluster) (engine.Node, error) {
	cl := &crd.Cluster{}
	if err := d.kc.Get(ctx, clusterRes, kube.Namespace(c.ID), clusterName, cl); err != nil {
		return engine.Node{}, kube.Error(err, "get cluster")
	}
	for _, ni := range nodeInstances(c, cl) {
		if ni.instance == cl.Status.CurrentPrimary {
			return ni.node, nil
		}
	}
	return engine.Node{}, fmt.Errorf("cluster %s has no primary now (phase %q)", c.ID, cl.Status.Phase)
}

// onPrimary runs f on a superuser connection to a database of the
// current primary, through its node's address.
func (d *Driver) onPrimary(ctx context.Context, c *engine.Cluster, database string, f func(*pgx.Conn) error) error {
	n, err := d.primaryNode(ctx, c)
	if err != nil {
		return err
	}
	conn, err := connectNode(ctx, c, n, "the primary", database)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	return f(conn)
}

// adminApp is the application name of dbaasd's own connections.
const adminApp = "dbaasd"

// connectNode opens a superuser connection to a database of the server
// behind a node's address; what names the server in errors.
func connectNode(ctx context.Context, c *engine.Cluster, n engine.Node, what, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port = n.Host, uint16(n.Port)
	cfg.User, cfg.Password, cfg.Database = superuser, c.AdminPassword, database
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.ConnectTimeout = 10 * time.Second
	cfg.RuntimeParams = map[string]string{"application_name": adminApp, "search_path": postgres.AdminSearchPath}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s of %s at %s:%d: %w", what, c.ID, n.Host, n.Port, err)
	}
	return conn, nil
}

// ident quotes a PostgreSQL identifier.
func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// sqlError wraps an error from the server (nil stays nil); errors caused
// by the request's content also wrap engine.ErrInvalid.
func sqlError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		case "22", "42", "0A", "2B", "3D", "3F":
			return fmt.Errorf("%s: %w: %w", what, engine.ErrInvalid, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkName refuses names PostgreSQL would truncate or that are empty.
func checkName(kind, name string) error {
	if name == "" || len(name) > 63 || strings.ContainsRune(name, 0) {
		return fmt.Errorf("%w: %s name %q: 1 to 63 bytes", engine.ErrInvalid, kind, name)
	}
	return nil
}
