package kafka

import (
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestThreeNodes checks that each node is a broker on its own address, in
// one process, that clients can use through any of them.
func TestThreeNodes(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 3)
	ctx := enginetest.Ctx(t)
	obs := enginetest.WaitObserved(t, d, c)
	for i, n := range obs.Nodes {
		if n.Role != c.Nodes[i].Role {
			t.Errorf("node %d observed as %s, want %s", i, n.Role, c.Nodes[i].Role)
		}
	}
	cl := client(t, c, SuperUser, c.AdminPassword)
	m, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	must(t, err)
	want := map[string]bool{}
	for _, n := range c.Nodes {
		want[nodeAddr(&n)] = true
	}
	for _, b := range m.Brokers {
		addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		if !want[addr] {
			t.Errorf("metadata advertises %s, not a node address", addr)
		}
		delete(want, addr)
	}
	if len(want) != 0 {
		t.Errorf("nodes missing from metadata: %v", want)
	}
	pids := map[int]bool{}
	for i := range c.Nodes {
		for _, p := range d.PIDs(c, &c.Nodes[i]) {
			pids[p] = true
		}
	}
	if len(pids) != 1 {
		t.Errorf("want one broker process for the cluster, got %v", pids)
	}

	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "spread", Partitions: 6}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "gina", Password: "gina-pass"}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "gina", Pattern: "spread", PatternType: engine.PatternLiteral, Read: true, Write: true}))
	must(t, produce(t, c, "gina", "gina-pass", "spread", "1", "2", "3", "4", "5", "6"))
	got, err := consume(t, c, "gina", "gina-pass", "spread", "gina-g", 6)
	must(t, err)
	if len(got) != 6 {
		t.Fatalf("consumed %v", got)
	}
}

// TestVersionEmulation checks that a datastore version caps the API
// versions and feature levels the broker advertises.
func TestVersionEmulation(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := enginetest.NewCluster(t, engine.Kafka, 1)
	t.Cleanup(func() { _ = d.Destroy(enginetest.Ctx(t), c) })
	ctx := enginetest.Ctx(t)

	c.Version = "2.8"
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure with version 2.8: %v, want ErrInvalid", err)
	}
	c.Version = "9.9"
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure with version 9.9: %v, want ErrInvalid", err)
	}
	c.Version = "3.7"
	must(t, d.Ensure(ctx, c))
	cl := client(t, c, SuperUser, c.AdminPassword)
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	must(t, err)
	api, features := emulatedRelease(kversion.FromApiVersionsResponse(resp))
	if features != "3.7" {
		t.Fatalf("broker for 3.7 advertises features of %s (API of %s)", features, api)
	}
	t.Logf("version 3.7: API versions of %s, features of %s", api, features)
}

func TestVersionHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		less bool
	}{{"3.7", "4.1", true}, {"4.1", "3.7", false}, {"3.10", "3.9", false}, {"3.0", "3.0", false}, {"v2.8", "3.0", true}} {
		if got := versionLess(tc.a, tc.b); got != tc.less {
			t.Errorf("versionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
	for _, v := range []string{"", "3.0", "3.7", "4.1"} {
		if err := checkVersion(v); err != nil {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"2.8", "0.10.0", "x", "9.9"} {
		if err := checkVersion(v); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("checkVersion(%q) = %v, want ErrInvalid", v, err)
		}
	}
}
