package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestSlots(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "cdc"}); err != nil {
		t.Fatal(err)
	}
	s := engine.Slot{Name: "debezium", Database: "cdc"}
	for i := 0; i < 2; i++ {
		if err := d.EnsureSlot(ctx, c, s); err != nil {
			t.Fatalf("EnsureSlot #%d: %v", i+1, err)
		}
	}
	if err := d.EnsureSlot(ctx, c, engine.Slot{Name: "debezium", Database: "postgres"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("EnsureSlot of the same name in another database = %v, want ErrInvalid", err)
	}
	if err := d.EnsureSlot(ctx, c, engine.Slot{Name: slotName("x"), Database: "cdc"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("EnsureSlot with an internal name = %v, want ErrInvalid", err)
	}
	conn := superConn(t, &c.Nodes[0], "cdc")
	if got := queryString(t, conn, "SELECT plugin || '/' || database || '/' || slot_type FROM pg_replication_slots WHERE slot_name = 'debezium'"); got != "pgoutput/cdc/logical" {
		t.Fatalf("pg_replication_slots: %q", got)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE events AS SELECT g AS id, repeat('x', 200) AS payload FROM generate_series(1, 5000) g"); err != nil {
		t.Fatal(err)
	}
	slots, err := d.Slots(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var found *engine.SlotState
	for i := range slots {
		if strings.HasPrefix(slots[i].Name, internalSlotPrefix) {
			t.Errorf("Slots() returned internal slot %s", slots[i].Name)
		}
		if slots[i].Name == s.Name {
			found = &slots[i]
		}
	}
	if found == nil || found.Database != "cdc" || found.InUse || found.SizeBytes <= 0 {
		t.Fatalf("Slots() = %+v, want debezium in cdc, not in use, retaining WAL", slots)
	}
	for i := 0; i < 2; i++ {
		if err := d.DropSlot(ctx, c, s.Name); err != nil {
			t.Fatalf("DropSlot #%d: %v", i+1, err)
		}
	}
	if got := queryString(t, conn, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = 'debezium'"); got != "0" {
		t.Fatal("slot still exists after DropSlot")
	}
}

// A tenant's slot named like a physical slot the runtime keeps for a
// replica (CloudNativePG's "_cnpg_…", which passes the API's name rule)
// can neither take it over nor drop it: both runtimes go through
// EnsureLogicalSlot and DropLogicalSlot.
func TestTenantSlotCannotTouchAPhysicalSlot(t *testing.T) {
	t.Parallel()
	_, c := shared(t)
	ctx := enginetest.Ctx(t)
	conn := superConn(t, &c.Nodes[0], "postgres")
	const name = "_cnpg_replica_2"
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1)", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", name) })
	if err := EnsureLogicalSlot(ctx, conn, engine.Slot{Name: name, Database: "postgres"}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("EnsureLogicalSlot over a physical slot = %v, want ErrInvalid", err)
	}
	if err := DropLogicalSlot(ctx, conn, name); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, conn, "SELECT slot_type FROM pg_replication_slots WHERE slot_name = '"+name+"'"); got != "physical" {
		t.Errorf("the physical slot after DropLogicalSlot: %q, want it kept", got)
	}
}
