package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// redisWAITWriter returns the writer's connect function for Redis: every
// write is a SET followed by WAIT 1, and counts as acknowledged only when a
// replica confirmed it. It writes only to a node that says it is the master.
func redisWAITWriter(password string) func(addr string) (func(int) error, func(), error) {
	return func(addr string) (func(int) error, func(), error) {
		c := goredis.NewClient(&goredis.Options{Addr: addr, Password: password, MaxRetries: -1,
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if role, err := c.Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
			_ = c.Close()
			return nil, nil, fmt.Errorf("not a master (%v)", err)
		}
		return func(n int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := c.Set(ctx, fmt.Sprintf("k%d", n), n, 0).Err(); err != nil {
				return err
			}
			acks, err := c.Do(ctx, "WAIT", 1, 1000).Int()
			if err != nil {
				return err
			}
			if acks < 1 {
				return fmt.Errorf("write %d not acknowledged by a replica", n)
			}
			return nil
		}, func() { _ = c.Close() }, nil
	}
}

// lostRedisWrites counts the acknowledged writes the master at addr does
// not hold.
func lostRedisWrites(t *testing.T, addr, password string, acked []int) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, Password: password})
	defer func() { _ = c.Close() }()
	lost := 0
	for _, n := range acked {
		if v, err := c.Get(context.Background(), fmt.Sprintf("k%d", n)).Int(); err != nil || v != n {
			lost++
		}
	}
	return lost
}

// TestRedisNoConfirmedWriteLost is the fault of issue 13: in a two-node
// Redis datastore, the Sentinel of the replica's node is killed (-9), then
// the primary's server (-9), while a client writes with WAIT 1. Every
// write a replica confirmed must survive: the replica holding them becomes
// the primary (the old primary, which comes back with an older or empty
// data set, must not be restarted over it), the dead Sentinel is restarted,
// and the datastore returns to ACTIVE with both Sentinels running.
func TestRedisNoConfirmedWriteLost(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond})
	ds := e.CreateDatastore(at.TokenA, "redis", "wait-redis", 2)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	var primary, replica string
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		if m["role"] == "MASTER" {
			primary = m["id"].(string)
		} else {
			replica = m["id"].(string)
		}
	}
	if primary == "" || replica == "" {
		t.Fatalf("want a primary and a replica: %s", r.Body)
	}
	w := &writer{t: t, e: e, ds: ds, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(redisWAITWriter("Redis-Secret-1"))
	time.Sleep(time.Second)
	if err := syscall.Kill(redisProcPID(t, ds, replica, "sentinel"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	w.killPrimary(redisProcPID(t, ds, primary, "redis"), wait)

	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if len(w.acked) == 0 {
		t.Fatal("no write was acknowledged")
	}
	if lost := lostRedisWrites(t, r.Str("datastore.connection.master"), "Redis-Secret-1", w.acked); lost > 0 {
		t.Errorf("%d of %d writes confirmed with WAIT were lost", lost, len(w.acked))
	}
	for _, in := range []string{primary, replica} {
		redisProcPID(t, ds, in, "sentinel") // fails the test when one is not running
	}
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds, nil)
	t.Logf("actions: %s", acts.Body)
}
