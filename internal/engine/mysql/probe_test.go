package mysql

import (
	"strconv"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestObserveReusesAConnection: observing a node again and again logs in
// once, not once per Observe (the server's Connections counter counts
// every connection attempt), and still sees the node after its server
// restarted.
func TestObserveReusesAConnection(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 1)
	ctx := enginetest.Ctx(t)
	db := adminDB(t, c, c.Nodes[0])
	connections := func() int {
		n, err := strconv.Atoi(mustStatus(t, db, "Connections"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := d.Observe(ctx, c); err != nil {
		t.Fatal(err)
	}
	before := connections()
	for i := 0; i < 10; i++ {
		obs, err := d.Observe(ctx, c)
		if err != nil || obs.Nodes[0].Status != engine.NodeActive {
			t.Fatalf("Observe %d: %+v, %v", i, obs, err)
		}
	}
	if grew := connections() - before; grew > 1 {
		t.Fatalf("10 Observes opened %d connections, want none (one kept open)", grew)
	}

	if err := d.Stop(ctx, c); err != nil {
		t.Fatal(err)
	}
	ensure(t, d, c)
	obs, err := d.Observe(ctx, c)
	if err != nil || obs.Nodes[0].Status != engine.NodeActive {
		t.Fatalf("first Observe after a restart: %+v, %v; want the node active", obs, err)
	}
}
