package redis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestSetPassword(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	ctx := context.Background()
	master, replica := &c.Nodes[0], &c.Nodes[1]
	old := c.Password
	oldConn := dial(t, master, old, "")
	if err := oldConn.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	const newPw = "the-new-password"
	if err := d.SetPassword(enginetest.Ctx(t), c, newPw); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	for _, n := range c.Nodes {
		if err := dial(t, &n, old, "").Ping(ctx).Err(); !isAuthErr(err) {
			t.Errorf("node %d: old password: err = %v, want an authentication error", n.Index, err)
		}
		if err := dial(t, &n, newPw, "").Ping(ctx).Err(); err != nil {
			t.Errorf("node %d: new password: %v", n.Index, err)
		}
	}
	if err := oldConn.Ping(ctx).Err(); err == nil {
		t.Error("a connection authenticated with the old password still works")
	}

	// The replica still replicates.
	if err := dial(t, master, newPw, "").Set(ctx, "after", "change", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, replica, newPw, "")
	eventually(t, 10*time.Second, "replica gets writes after the password change", func() error {
		v, err := rc.Get(ctx, "after").Result()
		if err != nil || v != "change" {
			return fmt.Errorf("GET = %q, %v", v, err)
		}
		return nil
	})

	// The sentinels still reach the servers (auth-pass) and each other
	// (sentinel-pass): once a node would be judged down (2 s), nothing is.
	time.Sleep(3 * time.Second)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if err := newClient(endpoint{network: "tcp", addr: sentinelAddrOf(t, n), timeout: time.Second}, old).Ping(ctx).Err(); !isAuthErr(err) {
			t.Errorf("sentinel %d with the old password: %v, want an authentication error", i, err)
		}
		sc := newClient(endpoint{network: "tcp", addr: sentinelAddrOf(t, n), timeout: time.Second}, newPw)
		q, err := sc.Do(ctx, "SENTINEL", "CKQUORUM", MasterName).Text()
		m, _ := sc.Do(ctx, "SENTINEL", "MASTER", MasterName).Result()
		r, _ := sc.Do(ctx, "SENTINEL", "REPLICAS", MasterName).Result()
		_ = sc.Close()
		if err != nil || !strings.Contains(q, "2 usable") {
			t.Errorf("sentinel %d: CKQUORUM = %q, %v", i, q, err)
		}
		if f := replyMap(m)["flags"]; f != "master" {
			t.Errorf("sentinel %d: master flags %q", i, f)
		}
		if rs, _ := r.([]any); len(rs) != 1 || replyMap(rs[0])["flags"] != "slave" {
			t.Errorf("sentinel %d: replicas %v", i, r)
		}
	}

	// Files carry the new password: a restart keeps it, and Ensure with the
	// recorded new password is a no-op that converges.
	c.Password = newPw
	if err := d.Stop(enginetest.Ctx(t), c); err != nil {
		t.Fatal(err)
	}
	ensure(t, d, c)
	enginetest.WaitObserved(t, d, c)
	if err := dial(t, master, old, "").Ping(ctx).Err(); !isAuthErr(err) {
		t.Errorf("after restart, old password: err = %v, want an authentication error", err)
	}
	// Interrupted change: SetPassword again is idempotent.
	if err := d.SetPassword(enginetest.Ctx(t), c, newPw); err != nil {
		t.Fatalf("second SetPassword: %v", err)
	}
}
