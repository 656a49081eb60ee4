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
	return onPrimary(ctx, c, s.Database, func(conn *pgx.Conn) error { return EnsureLogicalSlot(ctx, conn, s) })
}

// EnsureLogicalSlot creates logical replication slot s (plugin pgoutput)
// unless it exists; conn is a superuser session in s.Database. A slot of
// that name in another database, or a physical one (a replica's), is an
// error, never taken over. Every runtime's driver creates slots this way.
func EnsureLogicalSlot(ctx context.Context, conn *pgx.Conn, s engine.Slot) error {
	var db *string
	err := conn.QueryRow(ctx, "SELECT database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", s.Name).Scan(&db)
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
}

// DropSlot drops a logical slot, ending the session that uses it. A
// missing slot is not an error.
func (d *Driver) DropSlot(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	return onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error { return DropLogicalSlot(ctx, conn, name) })
}

// DropLogicalSlot drops logical slot name, ending the session that uses
// it; a missing slot, or a physical one (a replica's), is left alone.
// conn is a superuser session. Every runtime's driver drops slots this way.
func DropLogicalSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	var logical bool
	err := conn.QueryRow(ctx, "SELECT slot_type = 'logical' FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", name).Scan(&logical)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !logical {
		return nil
	}
	if err != nil {
		return sqlError(err, "look up slot %s", name)
	}
	return dropSlot(ctx, conn, name)
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
	err = d.onProbe(ctx, c, p, func(conn *pgx.Conn) (err error) {
		out, err = LogicalSlots(ctx, conn)
		return err
	})
	if out == nil && err == nil {
		out = []engine.SlotState{}
	}
	return out, err
}

// LogicalSlots lists the logical replication slots of conn's server with
// the WAL each retains. Every runtime's driver lists slots this way.
func LogicalSlots(ctx context.Context, conn *pgx.Conn) ([]engine.SlotState, error) {
	rows, err := conn.Query(ctx, `SELECT slot_name::text, coalesce(database::text, ''), active,
		coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn), 0)::bigint
		FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical' ORDER BY slot_name`)
	if err != nil {
		return nil, sqlError(err, "list slots")
	}
	out := []engine.SlotState{}
	var s engine.SlotState
	if _, err := pgx.ForEachRow(rows, []any{&s.Name, &s.Database, &s.InUse, &s.SizeBytes}, func() error {
		out = append(out, s)
		return nil
	}); err != nil {
		return nil, sqlError(err, "list slots")
	}
	return out, nil
}
