package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func checkSlotName(name string) error {
	if err := checkName("slot", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, internalSlotPrefix) {
		return fmt.Errorf("%w: slot names starting with %s are reserved", engine.ErrInvalid, internalSlotPrefix)
	}
	return nil
}

// EnsureSlot creates a logical replication slot (plugin pgoutput) in a
// database on the primary, unless it exists. A slot of that name in
// another database is an error.
func (d *Driver) EnsureSlot(ctx context.Context, c *engine.Cluster, s engine.Slot) error {
	if err := checkSlotName(s.Name); err != nil {
		return err
	}
	if err := checkName("database", s.Database); err != nil {
		return err
	}
	return onPrimary(ctx, c, s.Database, func(conn *pgx.Conn) error {
		var db *string
		err := conn.QueryRow(ctx, "SELECT database FROM pg_replication_slots WHERE slot_name = $1", s.Name).Scan(&db)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := conn.Exec(ctx, "SELECT pg_catalog.pg_create_logical_replication_slot($1::name, 'pgoutput'::name)", s.Name); err != nil {
				return sqlError(err, "create slot %s in database %s", s.Name, s.Database)
			}
			return nil
		case err != nil:
			return sqlError(err, "look up slot %s", s.Name)
		case db == nil || *db != s.Database:
			return fmt.Errorf("%w: slot %s already exists for another database", engine.ErrInvalid, s.Name)
		}
		return nil
	})
}

// DropSlot drops a logical slot, ending the session that uses it. A
// missing slot is not an error.
func (d *Driver) DropSlot(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	return onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		var logical bool
		err := conn.QueryRow(ctx, "SELECT slot_type = 'logical' FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&logical)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !logical {
			return nil
		}
		if err != nil {
			return sqlError(err, "look up slot %s", name)
		}
		return dropSlot(ctx, conn, name)
	})
}

// Slots lists the logical replication slots on the primary with the WAL
// each retains (dbaasd's own physical slots are not listed). The prober
// asks it with every round: it runs on the primary's probe connection.
func (d *Driver) Slots(ctx context.Context, c *engine.Cluster) ([]engine.SlotState, error) {
	var out []engine.SlotState
	p, err := primaryPaths(c)
	if err != nil {
		return nil, err
	}
	err = d.onProbe(ctx, c, p, func(conn *pgx.Conn) error {
		out = nil
		rows, err := conn.Query(ctx, `SELECT slot_name::text, coalesce(database::text, ''), active,
			coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
			FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY slot_name`)
		if err != nil {
			return sqlError(err, "list slots")
		}
		var s engine.SlotState
		_, err = pgx.ForEachRow(rows, []any{&s.Name, &s.Database, &s.InUse, &s.SizeBytes}, func() error {
			out = append(out, s)
			return nil
		})
		if err != nil {
			return sqlError(err, "list slots")
		}
		return nil
	})
	if out == nil && err == nil {
		out = []engine.SlotState{}
	}
	return out, err
}
