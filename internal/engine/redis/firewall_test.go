package redis

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

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
	st, _ := readState(nodePaths(master))
	sn := engine.Node{Host: master.Host, Port: st.SentinelPort}
	if got, err := rawPing(&sn, c.Password, "127.0.0.2"); err == nil || got != "" {
		t.Errorf("sentinel from 127.0.0.2: reply %q, err %v", got, err)
	}
	if got, err := rawPing(&sn, c.Password, "127.0.0.1"); err != nil {
		t.Errorf("sentinel from 127.0.0.1: reply %q, err %v", got, err)
	}

	// A dead forwarder shows in Observe and Ensure brings it back.
	fp := nodePaths(replica)
	_ = syscall.Kill(runningPid(fp.forwarderPid, fp.forwarderConf), syscall.SIGKILL)
	eventually(t, 5*time.Second, "replica observed down without its forwarder", func() error {
		obs, err := d.Observe(ctx, c)
		if err != nil || obs.Nodes[1].Status == engine.NodeActive {
			return fmt.Errorf("observed %+v, %v", obs.Nodes[1], err)
		}
		return nil
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
		if pid := runningPid(nodePaths(&n).forwarderPid, nodePaths(&n).forwarderConf); pid != 0 {
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
