package telemetry

import (
	"context"
	"testing"
	"time"
)

func TestOneReplicaLeadsTheWork(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Owner: "replica-a"})
	other := New(f.st, f.svc.drivers, Config{DataDir: f.svc.cfg.DataDir, Owner: "replica-b"}, nil, nil)
	other.now = f.svc.now
	ctx := context.Background()
	if !f.svc.lead(ctx, "collect", time.Second) {
		t.Fatal("the first replica did not get the free lease")
	}
	if other.lead(ctx, "collect", time.Second) {
		t.Fatal("two replicas lead the collection")
	}
	if !other.lead(ctx, "export", time.Second) {
		t.Fatal("leases of different work are not independent")
	}
	if !f.svc.lead(ctx, "collect", time.Second) {
		t.Fatal("the leader could not renew its lease")
	}
	f.now = f.now.Add(4 * time.Second) // the leader stopped renewing
	if !other.lead(ctx, "collect", time.Second) {
		t.Fatal("another replica did not take over an expired lease")
	}
	if f.svc.lead(ctx, "collect", time.Second) {
		t.Fatal("the old leader took the lease back")
	}
}
