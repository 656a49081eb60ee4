package postgres

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestFirewallCIDRs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      []string
		want    []string
		invalid bool
	}{
		{in: nil, want: []string{"0.0.0.0/0", "::/0"}},
		{in: []string{"10.0.0.1"}, want: []string{"10.0.0.1/32"}},
		{in: []string{" 10.1.2.3/8 ", "10.0.0.0/8"}, want: []string{"10.0.0.0/8"}},
		{in: []string{"2001:db8::1", "2001:db8::/32"}, want: []string{"2001:db8::1/128", "2001:db8::/32"}},
		{in: []string{"::ffff:192.0.2.1"}, want: []string{"192.0.2.1/32"}},
		{in: []string{"example.com"}, invalid: true},
		{in: []string{"10.0.0.0/33"}, invalid: true},
		{in: []string{"all"}, invalid: true},
	} {
		got, err := firewallCIDRs(tc.in)
		if tc.invalid {
			if !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("firewallCIDRs(%q) = %v, %v; want ErrInvalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("firewallCIDRs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	hba, err := renderHBA([]string{"192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"local   all          postgres  peer map=dbaasd",
		"local   all          all  scram-sha-256",
		"host    all          all   192.0.2.7/32  scram-sha-256",
	} {
		if !strings.Contains(hba, line) {
			t.Errorf("pg_hba.conf lacks %q:\n%s", line, hba)
		}
	}
}

func TestFirewall(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 1)
	ctx := enginetest.Ctx(t)
	n := c.Nodes[0]
	u := engine.User{Name: "fw_user", Password: "Firewall-123456"}
	if err := d.EnsureUser(ctx, c, u); err != nil {
		t.Fatal(err)
	}
	try := func(from string) error {
		conn, err := clientConn(ctx, n.Host, n.Port, u.Name, u.Password, "postgres", from)
		if err == nil {
			_ = conn.Close(ctx)
		}
		return err
	}
	for _, tc := range []struct {
		firewall  []string
		from      string
		wantAllow bool
	}{
		{nil, "127.0.0.2", true},
		{[]string{"127.0.0.1"}, "127.0.0.2", false},
		{[]string{"127.0.0.1"}, "127.0.0.1", true},
		{[]string{"127.0.0.0/30"}, "127.0.0.2", true},
		{[]string{}, "127.0.0.2", true},
	} {
		c.Firewall = tc.firewall
		if err := d.Ensure(ctx, c); err != nil {
			t.Fatalf("Ensure with firewall %v: %v", tc.firewall, err)
		}
		err := try(tc.from)
		if tc.wantAllow && err != nil {
			t.Errorf("firewall %v: connection from %s refused: %v", tc.firewall, tc.from, err)
		}
		if !tc.wantAllow {
			if err == nil {
				t.Errorf("firewall %v: connection from %s allowed", tc.firewall, tc.from)
			} else if !strings.Contains(err.Error(), "no pg_hba.conf entry") {
				t.Errorf("firewall %v: connection from %s failed for another reason: %v", tc.firewall, tc.from, err)
			}
		}
	}
	c.Firewall = []string{"not an address"}
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure with a bad firewall entry = %v, want ErrInvalid", err)
	}
}
