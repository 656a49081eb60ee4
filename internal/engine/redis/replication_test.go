package redis

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// sentinelClientOf connects to node n's sentinel at its TCP port.
func sentinelAddrOf(t *testing.T, n *engine.Node) string {
	t.Helper()
	if n.Ports[sentinelPortName] == 0 {
		t.Fatalf("node %d: no sentinel port", n.Index)
	}
	return net.JoinHostPort(n.Host, strconv.Itoa(n.Ports[sentinelPortName]))
}

func TestThreeNodesReplicateAndSentinelsAgree(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 3, nil)
	ctx := context.Background()
	master := &c.Nodes[0]
	if err := dial(t, master, c.Password, "").Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		rc := dial(t, &c.Nodes[i], c.Password, "")
		eventually(t, 10*time.Second, fmt.Sprintf("replica %d reads the write", i), func() error {
			v, err := rc.Get(ctx, "greeting").Result()
			if v != "hello" {
				return fmt.Errorf("GET = %q, %v", v, err)
			}
			return nil
		})
		if err := rc.Set(ctx, "x", "y", 0).Err(); err == nil {
			t.Errorf("replica %d accepts writes", i)
		}
	}
	want := []string{master.Host, strconv.Itoa(master.Port)}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		cl := newClient(endpoint{network: "tcp", addr: sentinelAddrOf(t, n), timeout: 2 * time.Second}, c.Password)
		got, err := cl.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
		_ = cl.Close()
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("sentinel of node %d: master = %v (%v), want %v", i, got, err, want)
		}
	}
	obs := enginetest.WaitObserved(t, d, c)
	for _, ns := range obs.Nodes {
		if ns.Role == engine.RoleReplica && ns.LagBytes < 0 {
			t.Errorf("node %s: lag %d", ns.ID, ns.LagBytes)
		}
	}
}

// After Sentinel promotes a replica, Observe reports the new roles and
// Ensure keeps them instead of demoting the new master.
func TestEnsureFollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 3, nil)
	ctx := context.Background()
	old := &c.Nodes[0]
	if err := dial(t, old, c.Password, "").Set(ctx, "before", "failover", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Redis replicates asynchronously and a forced failover does not wait:
	// the write must reach every replica before the test asks for one.
	eventually(t, 10*time.Second, "replicas catch up", func() error {
		for i := 1; i < len(c.Nodes); i++ {
			if v, _ := dial(t, &c.Nodes[i], c.Password, "").Get(ctx, "before").Result(); v != "failover" {
				return fmt.Errorf("replica %d: %q", i, v)
			}
		}
		return nil
	})
	// Let the sentinels discover the replicas (INFO every 10 s at first).
	sentinel := goredis.NewClient(clientOptions(sentinelEndpoint(&c.Nodes[1]), internalCred(c), nil))
	defer func() { _ = sentinel.Close() }()
	eventually(t, 30*time.Second, "sentinel fails over", func() error {
		return sentinel.Do(ctx, "SENTINEL", "FAILOVER", MasterName).Err()
	})
	// Observe reports the promotion as soon as it happens (the old master
	// may still act as one until Sentinel or Ensure reconfigures it).
	var promoted *engine.Node
	eventually(t, 30*time.Second, "a replica becomes master", func() error {
		obs, err := d.Observe(ctx, c)
		if err != nil {
			return err
		}
		for i, ns := range obs.Nodes {
			if ns.Role == engine.RoleMaster && i != 0 {
				promoted = &c.Nodes[i]
			}
		}
		if promoted == nil {
			return fmt.Errorf("roles %+v", obs.Nodes)
		}
		return nil
	})
	// Node 0 is still the desired master; Ensure must not demote the new one.
	ensure(t, d, c)
	obs, err := d.Observe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for i, ns := range obs.Nodes {
		want := engine.RoleReplica
		if c.Nodes[i].ID == promoted.ID {
			want = engine.RoleMaster
		}
		if ns.Role != want || ns.Status != engine.NodeActive {
			t.Errorf("after Ensure node %d is %s/%s, want %s/ACTIVE", i, ns.Role, ns.Status, want)
		}
	}
	v, err := dial(t, promoted, c.Password, "").Get(ctx, "before").Result()
	if err != nil || v != "failover" {
		t.Errorf("promoted master lost data: %q, %v", v, err)
	}
}

// Removing the master node: a remaining node takes over, the sentinels
// follow it and the departed node leaves nothing behind.
func TestScaleDownRemovesTheMaster(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 3, nil)
	ctx := context.Background()
	if err := dial(t, &c.Nodes[0], c.Password, "").Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "replicas catch up", func() error {
		for i := 1; i < 3; i++ {
			if v, _ := dial(t, &c.Nodes[i], c.Password, "").Get(ctx, "kept").Result(); v != "yes" {
				return fmt.Errorf("replica %d: %q", i, v)
			}
		}
		return nil
	})
	gone := c.Nodes[0]
	c.Nodes = c.Nodes[1:]
	c.Nodes[0].Role = engine.RoleMaster
	ensure(t, d, c)
	obs := enginetest.WaitObserved(t, d, c)
	if len(obs.Nodes) != 2 {
		t.Fatalf("observed %+v", obs)
	}
	if _, err := os.Stat(gone.Dir); !os.IsNotExist(err) {
		t.Errorf("removed node's directory still there (%v)", err)
	}
	if v, err := dial(t, &c.Nodes[0], c.Password, "").Get(ctx, "kept").Result(); v != "yes" {
		t.Errorf("new master lost data: %q, %v", v, err)
	}
	want := []string{c.Nodes[0].Host, strconv.Itoa(c.Nodes[0].Port)}
	for i := range c.Nodes {
		cl := newClient(endpoint{network: "tcp", addr: sentinelAddrOf(t, &c.Nodes[i]), timeout: 2 * time.Second}, c.Password)
		got, err := cl.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
		q, _ := cl.Do(ctx, "SENTINEL", "MASTER", MasterName).Result()
		_ = cl.Close()
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("sentinel %d: master %v (%v), want %v", i, got, err, want)
		}
		if replyMap(q)["quorum"] != "2" {
			t.Errorf("sentinel %d: quorum %s, want 2", i, replyMap(q)["quorum"])
		}
	}
	r, _ := d.existing(c)
	reg, _ := readRegistry(r, c)
	if len(reg) != 2 {
		t.Errorf("registry has %d nodes, want 2", len(reg))
	}
}

func TestSlaveListed(t *testing.T) {
	t.Parallel()
	info := parseInfo("# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
		"slave0:ip=127.0.0.2,port=7001,state=wait_bgsave,offset=0,lag=0\r\n" +
		"slave1:ip=127.0.0.3,port=7002,state=online,offset=42,lag=1\r\n" +
		"slave_read_only:ip=127.0.0.9,port=7009,state=online\r\n")
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"127.0.0.2", 7001, true},
		{"127.0.0.3", 7002, true},
		{"127.0.0.2", 7002, false},
		{"127.0.0.4", 7001, false},
		{"127.0.0.9", 7009, false}, // not a replica line
	} {
		if got := slaveListed(info, tc.host, tc.port); got != tc.want {
			t.Errorf("slaveListed(%s:%d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
}
