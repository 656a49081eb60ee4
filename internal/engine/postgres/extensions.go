package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// EnsureExtension installs an extension, and the extensions it requires,
// in a database.
func (d *Driver) EnsureExtension(ctx context.Context, c *engine.Cluster, e engine.Extension) error {
	if err := checkName("extension", e.Name); err != nil {
		return err
	}
	if err := checkName("database", e.Database); err != nil {
		return err
	}
	return onPrimary(ctx, c, e.Database, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE EXTENSION IF NOT EXISTS %s CASCADE", ident(e.Name))); err != nil {
			return sqlError(err, "create extension %s in database %s", e.Name, e.Database)
		}
		return nil
	})
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
