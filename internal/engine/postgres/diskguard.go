package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// guardDisk protects a full disk: when a node's data outgrows the flavor's
// disk, the primary gets default_transaction_read_only = on (ALTER SYSTEM,
// so it survives restarts and wins over dbaasd.conf), and the setting is
// removed once the data fits again. It is a guard against accidents, not a
// security boundary: any session can still start a read-write transaction
// explicitly (SET default_transaction_read_only = off, BEGIN READ WRITE).
func (d *Driver) guardDisk(ctx context.Context, c *engine.Cluster) error {
	limit := d.diskLimit(c)
	var used int64
	for i := range c.Nodes {
		if size, err := proc.DirSize(pathsOf(&c.Nodes[i]).data); err == nil && size > used {
			used = size
		}
	}
	full := limit > 0 && used > limit
	primary, err := primaryPaths(c)
	if err != nil {
		return err
	}
	return d.onProbe(ctx, c, primary, func(conn *pgx.Conn) error {
		var guarded bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_file_settings
			WHERE name = 'default_transaction_read_only' AND sourcefile LIKE '%/postgresql.auto.conf')`).Scan(&guarded); err != nil {
			return sqlError(err, "read the disk guard")
		}
		var stmt string
		switch {
		case full && !guarded:
			d.log.Warn("disk full: the primary now accepts only reads", "datastore_id", c.ID, "used_bytes", used, "limit_bytes", limit)
			stmt = "ALTER SYSTEM SET default_transaction_read_only = on"
		case !full && guarded:
			d.log.Info("disk no longer full: the primary accepts writes again", "datastore_id", c.ID, "used_bytes", used, "limit_bytes", limit)
			stmt = "ALTER SYSTEM RESET default_transaction_read_only"
		default:
			return nil
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return sqlError(err, "disk guard")
		}
		if err := reloadAndWait(ctx, conn); err != nil {
			return fmt.Errorf("disk guard: %w", err)
		}
		return nil
	})
}
