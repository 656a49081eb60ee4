package redis

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// rawPing connects from source address from, sends PING and returns the
// reply, or the error that ended the connection.
func rawPing(n *engine.Node, password, from string) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", net.JoinHostPort(n.Host, strconv.Itoa(n.Port)))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "AUTH %s\r\nPING\r\n", password); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	got := ""
	for len(got) < len("+OK\r\n+PONG\r\n") {
		k, err := conn.Read(buf)
		got += string(buf[:k])
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestFirewallRefusesOtherSources(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, func(c *engine.Cluster) { c.Firewall = []string{"127.0.0.1"} })
	ctx := context.Background()
	master, replica := &c.Nodes[0], &c.Nodes[1]

	for _, n := range c.Nodes {
		if got, err := rawPing(&n, c.Password, "127.0.0.2"); err == nil || got != "" {
			t.Errorf("node %d from 127.0.0.2: reply %q, err %v; want the connection refused before any reply", n.Index, got, err)
		}
		if got, err := rawPing(&n, c.Password, "127.0.0.1"); err != nil || got != "+OK\r\n+PONG\r\n" {
			t.Errorf("node %d from 127.0.0.1: reply %q, err %v", n.Index, got, err)
		}
	}
	// Replication goes through the firewall too.
	if err := dial(t, master, c.Password, "127.0.0.1").Set(ctx, "fw", "on", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "replica reads through the firewall", func() error {
		v, err := dial(t, replica, c.Password, "127.0.0.1").Get(ctx, "fw").Result()
		if v != "on" {
			return fmt.Errorf("GET = %q, %v", v, err)
		}
		return nil
	})
	// The sentinel port is firewalled as well.
	sn := engine.Node{Host: master.Host, Port: master.Ports[sentinelPortName]}
	if got, err := rawPing(&sn, c.Password, "127.0.0.2"); err == nil || got != "" {
		t.Errorf("sentinel from 127.0.0.2: reply %q, err %v", got, err)
	}
	if got, err := rawPing(&sn, c.Password, "127.0.0.1"); err != nil {
		t.Errorf("sentinel from 127.0.0.1: reply %q, err %v", got, err)
	}

	// A dead forwarder shows in Observe and Ensure brings it back.
	fp := nodePaths(replica)
	_ = syscall.Kill(pidOf(fp.forwarderPid, fp.forwarderConf), syscall.SIGKILL)
	eventually(t, 5*time.Second, "replica's forwarder observed down", func() error {
		obs, err := d.Observe(ctx, c)
		if err != nil {
			return err
		}
		for _, ps := range obs.Processes {
			if ps.Name == "redis-forwarder" && ps.NodeID == replica.ID && !ps.Up {
				return nil
			}
		}
		return fmt.Errorf("observed %+v", obs.Processes)
	})
	ensure(t, d, c)
	enginetest.WaitObserved(t, d, c)

	// A CIDR lets 127.0.0.2 in, and an existing connection from an address
	// dropped from the list is cut.
	c.Firewall = []string{"127.0.0.0/30"}
	ensure(t, d, c)
	held := dial(t, master, c.Password, "127.0.0.2")
	if err := held.Ping(ctx).Err(); err != nil {
		t.Fatalf("from 127.0.0.2 within 127.0.0.0/30: %v", err)
	}
	c.Firewall = []string{"127.0.0.1"}
	ensure(t, d, c)
	if err := held.Ping(ctx).Err(); err == nil {
		t.Error("connection from a removed address still works")
	}

	// An empty list lets everyone in, with the server listening itself.
	c.Firewall = nil
	ensure(t, d, c)
	for _, n := range c.Nodes {
		if got, err := rawPing(&n, c.Password, "127.0.0.2"); err != nil {
			t.Errorf("node %d, no firewall, from 127.0.0.2: reply %q, err %v", n.Index, got, err)
		}
		if pid := pidOf(nodePaths(&n).forwarderPid, nodePaths(&n).forwarderConf); pid != 0 {
			t.Errorf("node %d: forwarder still runs without a firewall", n.Index)
		}
	}
	if got, err := rawPing(&sn, c.Password, "127.0.0.2"); err != nil {
		t.Errorf("sentinel, no firewall, from 127.0.0.2: reply %q, err %v", got, err)
	}
	if err := dial(t, master, c.Password, "").Set(ctx, "fw", "off", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "replica still replicates", func() error {
		v, err := dial(t, replica, c.Password, "").Get(ctx, "fw").Result()
		if v != "off" {
			return fmt.Errorf("GET = %q, %v", v, err)
		}
		return nil
	})

	// And back: the firewall applies to a running cluster.
	c.Firewall = []string{"127.0.0.1"}
	ensure(t, d, c)
	if got, err := rawPing(master, c.Password, "127.0.0.2"); err == nil || got != "" {
		t.Errorf("firewall back on, from 127.0.0.2: reply %q, err %v", got, err)
	}
}

func TestFirewallOneNodeEmptyList(t *testing.T) {
	t.Parallel()
	_, c := setup(t, 1, nil)
	if got, err := rawPing(&c.Nodes[0], c.Password, "127.0.0.2"); err != nil {
		t.Errorf("from 127.0.0.2 without a firewall: reply %q, err %v", got, err)
	}
}

// Issue 17, defect 4: a firewall list without any local address refuses
// every local client — from the nodes' own address, from loopback, from
// root — while dbaasd (over the Unix sockets), the replicas and the
// sentinels (as the cluster's OS account) still get through.
func TestFirewallRefusesLocalClients(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, func(c *engine.Cluster) { c.Firewall = []string{"192.0.2.1"} })
	if !acct(t, d, c).Isolated() {
		t.Skip("datastores have no OS account of their own (dbaasd does not run as root): the test's own connections are the cluster's user's")
	}
	ctx := context.Background()
	master, replica := &c.Nodes[0], &c.Nodes[1]
	for _, n := range c.Nodes {
		for _, from := range []string{n.Host, "127.0.0.1", "127.0.0.2"} {
			if got, err := rawPing(&n, c.Password, from); err == nil || got != "" {
				t.Errorf("node %d from %s: reply %q, err %v; want the connection refused", n.Index, from, got, err)
			}
		}
		sn := engine.Node{Host: n.Host, Port: n.Ports[sentinelPortName]}
		if got, err := rawPing(&sn, c.Password, n.Host); err == nil || got != "" {
			t.Errorf("sentinel %d from %s: reply %q, err %v; want the connection refused", n.Index, n.Host, got, err)
		}
	}
	// Replication and the sentinels pass by their own path.
	if err := admin(t, c, master).Set(ctx, "fw", "closed", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "replica gets the write through the firewall", func() error {
		v, err := admin(t, c, replica).Get(ctx, "fw").Result()
		if v != "closed" {
			return fmt.Errorf("GET = %q, %v", v, err)
		}
		return nil
	})
	obs := enginetest.WaitObserved(t, d, c)
	for _, ps := range obs.Processes {
		if !ps.Up {
			t.Errorf("%s of %s down: %s", ps.Name, ps.NodeID, ps.Detail)
		}
	}
	for i := range c.Nodes {
		sc := goredis.NewClient(clientOptions(sentinelEndpoint(&c.Nodes[i]), internalCred(c), nil))
		eventually(t, 15*time.Second, fmt.Sprintf("sentinel %d sees the other sentinel and the replica", i), func() error {
			q, err := sc.Do(ctx, "SENTINEL", "CKQUORUM", MasterName).Text()
			if err != nil || !strings.Contains(q, "2 usable") {
				return fmt.Errorf("CKQUORUM = %q, %v", q, err)
			}
			rs, _ := sc.Do(ctx, "SENTINEL", "REPLICAS", MasterName).Slice()
			if len(rs) != 1 || replyMap(rs[0])["flags"] != "slave" {
				return fmt.Errorf("replicas %v", rs)
			}
			return nil
		})
		_ = sc.Close()
	}
	// Listing the address lets it in.
	c.Firewall = []string{"192.0.2.1", "127.0.0.2"}
	ensure(t, d, c)
	if got, err := rawPing(master, c.Password, "127.0.0.2"); err != nil || got != "+OK\r\n+PONG\r\n" {
		t.Errorf("from a listed address: reply %q, err %v", got, err)
	}
	if got, err := rawPing(master, c.Password, "127.0.0.1"); err == nil || got != "" {
		t.Errorf("from 127.0.0.1, not listed: reply %q, err %v", got, err)
	}
}

// Issue 17, defect 3: a forwarder is told of a change only once it is
// ready. A forwarder just started is at once given another list (as the
// second Ensure of one pass did): it must not die of the signal.
func TestForwarderToldOfChangesOnlyWhenReady(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 1, func(c *engine.Cluster) { c.Firewall = []string{"127.0.0.1"} })
	r := acct(t, d, c)
	n := &c.Nodes[0]
	p := nodePaths(n)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		pid := pidOf(p.forwarderPid, p.forwarderConf)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "forwarder gone", func() error {
			if pidOf(p.forwarderPid, p.forwarderConf) != 0 {
				return fmt.Errorf("still running")
			}
			return nil
		})
		if _, err := d.ensureForwarder(ctx, r, c, n); err != nil {
			t.Fatalf("round %d: start: %v", i, err)
		}
		c.Firewall = []string{"127.0.0.1", fmt.Sprintf("10.0.0.%d", i+1)}
		hash, err := d.ensureForwarder(ctx, r, c, n)
		if err != nil {
			t.Fatalf("round %d: change: %v", i, err)
		}
		if err := waitForwarder(ctx, r, n, hash); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if got, err := rawPing(n, c.Password, "127.0.0.1"); err != nil || got != "+OK\r\n+PONG\r\n" {
			t.Fatalf("round %d: reply %q, err %v", i, got, err)
		}
	}
	ensure(t, d, c)
	enginetest.WaitObserved(t, d, c)
}
