package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// connTimeout bounds connecting to a local server over its Unix socket.
const connTimeout = 5 * time.Second

// AdminSearchPath is the search_path of every connection dbaasd makes as
// the superuser. Tenants own databases and may create objects in their
// schemas; a function or operator of theirs that a superuser's unqualified
// call would pick up (a closer argument match in public) would run as the
// superuser. With only pg_catalog (and pg_temp, searched last and never
// for functions) in the path, nothing of a tenant's is found. It is sent
// in the startup packet, which overrides ALTER DATABASE/ROLE ... SET.
const AdminSearchPath = "pg_catalog, pg_temp"

// connect opens a superuser connection to a node's server over its Unix
// socket (peer authentication for dbaasd's OS user; the socket directory
// is private to the cluster's OS account and root).
func connect(ctx context.Context, p nodePaths, database string) (*pgx.Conn, error) {
	return connectAs(ctx, p, database, "dbaasd")
}

// connectAs is connect with an application_name of the caller's.
func connectAs(ctx context.Context, p nodePaths, database, app string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host = p.socketDir
	cfg.Port = uint16(p.port)
	cfg.User = superuser
	cfg.Password = ""
	cfg.Database = database
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = connTimeout
	cfg.RuntimeParams = map[string]string{"application_name": app, "search_path": AdminSearchPath}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("node %s: connect to database %s: %w", p.id, database, err)
	}
	return conn, nil
}

// withConn runs f on a fresh superuser connection to a database of a node.
func withConn(ctx context.Context, p nodePaths, database string, f func(*pgx.Conn) error) error {
	conn, err := connect(ctx, p, database)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	return f(conn)
}

// primaryPaths returns the paths of the cluster's desired primary.
func primaryPaths(c *engine.Cluster) (nodePaths, error) {
	m := c.Master()
	if m == nil {
		return nodePaths{}, fmt.Errorf("%w: cluster %s has no %s node", engine.ErrInvalid, c.ID, engine.RoleMaster)
	}
	return pathsOf(m), nil
}

// onPrimary runs f on a superuser connection to a database on the primary.
func onPrimary(ctx context.Context, c *engine.Cluster, database string, f func(*pgx.Conn) error) error {
	p, err := primaryPaths(c)
	if err != nil {
		return err
	}
	return withConn(ctx, p, database, f)
}

// sqlError wraps an error from the server with what we were doing. Errors
// caused by the request's content (bad names and values, missing objects,
// unavailable features, dependent objects) also wrap engine.ErrInvalid.
func sqlError(err error, format string, args ...any) error {
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
