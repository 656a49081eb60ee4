package kafka

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	l, err := parseAllowList([]string{"10.0.0.0/8", "192.168.1.7", "::1", "2001:db8::/32"})
	must(t, err)
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "192.168.1.7": true, "192.168.1.8": false, "::1": true,
		"2001:db8::5": true, "2001:db9::5": false, "::ffff:10.0.0.1": true, "11.0.0.1": false,
	} {
		if got := l.allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if l, _ := parseAllowList(nil); !l.allows(netip.MustParseAddr("1.2.3.4")) {
		t.Error("empty list must let every address in")
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", ""} {
		if _, err := parseAllowList([]string{bad}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("parseAllowList(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestFirewallRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	if !canBind("127.0.0.2") {
		t.Skip("cannot bind 127.0.0.2 on this machine")
	}
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	pid := d.PIDs(c, &c.Nodes[0])[0]

	c.Firewall = []string{"127.0.0.1"}
	must(t, d.Ensure(ctx, c))
	if err := login(t, c, SuperUser, c.AdminPassword, boundDialer("127.0.0.2")); err == nil {
		t.Fatal("a client from 127.0.0.2 got in with the firewall at [127.0.0.1]")
	} else {
		t.Logf("client from 127.0.0.2 refused: %v", err)
	}
	must(t, login(t, c, SuperUser, c.AdminPassword, boundDialer("127.0.0.1")))
	// Observe still sees the node.
	enginetest.WaitObserved(t, d, c)

	c.Firewall = []string{"127.0.0.0/8"}
	must(t, d.Ensure(ctx, c))
	must(t, login(t, c, SuperUser, c.AdminPassword, boundDialer("127.0.0.2")))

	// dbaasd keeps managing the cluster whatever the list says: its
	// connections come from the broker's own address.
	c.Firewall = []string{"203.0.113.0/24"}
	must(t, d.Ensure(ctx, c))
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "still-managed", Partitions: 1}))
	if err := login(t, c, SuperUser, c.AdminPassword, boundDialer("127.0.0.2")); err == nil {
		t.Fatal("a client from 127.0.0.2 got in with the firewall at [203.0.113.0/24]")
	}

	c.Firewall = nil
	must(t, d.Ensure(ctx, c))
	must(t, login(t, c, SuperUser, c.AdminPassword, boundDialer("127.0.0.2")))

	if got := d.PIDs(c, &c.Nodes[0]); len(got) != 1 || got[0] != pid {
		t.Fatalf("firewall changes restarted the broker: pid %d → %v", pid, got)
	}
	c.Firewall = []string{"not-an-ip"}
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure with a bad firewall entry = %v, want ErrInvalid", err)
	}
}

func canBind(ip string) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false
	}
	defer func() { _ = l.Close() }()
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
