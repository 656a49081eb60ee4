package mysql

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestHostPatterns(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{nil, []string{"%"}},
		{[]string{"127.0.0.1"}, []string{"127.0.0.1"}},
		{[]string{"10.0.0.0/8", "192.168.1.7/24", "10.1.2.3/32"}, []string{"10.0.0.0/255.0.0.0", "10.1.2.3", "192.168.1.0/255.255.255.0"}},
		{[]string{"0.0.0.0/0"}, []string{"%"}},
		{[]string{"::1", "2001:db8::1/128", "::ffff:10.0.0.0/104"}, []string{"10.0.0.0/255.0.0.0", "2001:db8::1", "::1"}},
		{[]string{" 10.0.0.1 ", "10.0.0.1"}, []string{"10.0.0.1"}},
	}
	for _, tc := range cases {
		got, err := hostPatterns(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("hostPatterns(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "2001:db8::/32", "example.com", "10.0.0.%", "fe80::1%eth0"} {
		if _, err := hostPatterns([]string{bad}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("hostPatterns(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

// fromAddr registers a go-sql-driver network that connects from a given
// local address.
func fromAddr(name, local string) string {
	gomysql.RegisterDialContext(name, func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		return d.DialContext(ctx, "tcp", addr)
	})
	return name
}

func TestFirewall(t *testing.T) {
	for _, mode := range []string{ModeNative, ModeSync} {
		t.Run(mode, func(t *testing.T) { testFirewall(t, mode) })
	}
}

func testFirewall(t *testing.T, mode string) {
	from1 := fromAddr("from-127.0.0.1", "127.0.0.1")
	from2 := fromAddr("from-127.0.0.2", "127.0.0.2")
	d := newTestDriver(t, mode)
	c := newTestCluster(t, d, 1, func(c *engine.Cluster) { c.Firewall = []string{"127.0.0.1"} })
	n := c.Nodes[0]
	ctx := enginetest.Ctx(t)
	if err := d.EnsureUser(ctx, c, engine.User{Name: "fw", Password: "Fw-pw-1"}); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "fwdb"}); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureGrant(ctx, c, engine.Grant{User: "fw", Database: "fwdb"}); err != nil {
		t.Fatal(err)
	}
	hosts := func() string {
		return mustQuery(t, adminDB(t, c, n), "SELECT GROUP_CONCAT(Host ORDER BY Host) FROM mysql.user WHERE User = 'fw'")
	}
	allowed := func(network string) error {
		db := tcpDB(t, network, n, "fw", "Fw-pw-1", "fwdb")
		_, err := db.Exec("CREATE TABLE IF NOT EXISTS t (id INT)")
		return err
	}

	if err := allowed(from1); err != nil {
		t.Errorf("from the allowed 127.0.0.1: %v", err)
	}
	// The refusal is "Host … is not allowed to connect" (1130): no account
	// matches the address at all (the semi-sync replication account has
	// entries for the nodes' addresses only).
	err := allowed(from2)
	want := uint16(1130)
	if !isErrno(err, want) {
		t.Errorf("from 127.0.0.2 with firewall [127.0.0.1]: err = %v, want error %d", err, want)
	}

	// Widening the firewall re-creates the user's entries with its grants.
	c.Firewall = []string{"127.0.0.0/8", "10.1.0.0/16"}
	ensure(t, d, c)
	if got := hosts(); got != "10.1.0.0/255.255.0.0,127.0.0.0/255.0.0.0" {
		t.Errorf("host entries = %s", got)
	}
	for _, network := range []string{from1, from2} {
		if err := allowed(network); err != nil {
			t.Errorf("%s with firewall %v: %v", network, c.Firewall, err)
		}
	}
	// A user created now gets the same entries.
	if err := d.EnsureUser(ctx, c, engine.User{Name: "late", Password: "Late-pw-1"}); err != nil {
		t.Fatal(err)
	}
	if got := mustQuery(t, adminDB(t, c, n), "SELECT COUNT(*) FROM mysql.user WHERE User = 'late'"); got != "2" {
		t.Errorf("late has %s entries, want 2", got)
	}

	// An empty firewall lets every address in.
	c.Firewall = nil
	ensure(t, d, c)
	if got := hosts(); got != "%" {
		t.Errorf("host entries with no firewall = %s", got)
	}
	if err := allowed(from2); err != nil {
		t.Errorf("from 127.0.0.2 without firewall: %v", err)
	}
	// Admin and replication accounts are untouched.
	if got := mustQuery(t, adminDB(t, c, n), "SELECT COUNT(*) FROM mysql.user WHERE User = 'root' AND Host = 'localhost'"); got != "1" {
		t.Error("root@localhost is gone")
	}
}
