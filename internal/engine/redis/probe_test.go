package redis

import (
	"context"
	"strconv"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestObserveReusesAConnection: observing a node again and again connects
// once, not once per Observe (total_connections_received counts every
// connection the server accepted), and still sees the node after its
// server restarted.
func TestObserveReusesAConnection(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 1, nil)
	ctx := enginetest.Ctx(t)
	n := &c.Nodes[0]
	received := func() int {
		cl := dial(t, n, c.Password, "")
		s, err := cl.Info(context.Background(), "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.Atoi(parseInfo(s)["total_connections_received"])
		if err != nil {
			t.Fatal(err)
		}
		_ = cl.Close()
		return v
	}
	if _, err := d.Observe(ctx, c); err != nil {
		t.Fatal(err)
	}
	before := received()
	for i := 0; i < 10; i++ {
		obs, err := d.Observe(ctx, c)
		if err != nil || obs.Nodes[0].Status != engine.NodeActive {
			t.Fatalf("Observe %d: %+v, %v", i, obs, err)
		}
	}
	// received() itself connects once.
	if grew := received() - before; grew > 1 {
		t.Fatalf("10 Observes opened %d connections, want none (one kept open)", grew-1)
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
