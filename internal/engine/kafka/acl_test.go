package kafka

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestProduceAndConsumeWithACL(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "orders", Partitions: 2}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "alice", Password: "alice-pass-1"}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "alice", Pattern: "orders", PatternType: engine.PatternLiteral, Read: true, Write: true}))

	must(t, produce(t, c, "alice", "alice-pass-1", "orders", "a", "b", "c"))
	got, err := consume(t, c, "alice", "alice-pass-1", "orders", "alice-group", 3)
	must(t, err)
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("consumed %v, want a b c", got)
	}
	// The ACL is for "orders" only.
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "payments", Partitions: 1}))
	if err := produce(t, c, "alice", "alice-pass-1", "payments", "x"); !isAuthzErr(err) {
		t.Fatalf("produce to a topic without ACL: %v, want an authorization error", err)
	}
}

func TestUserWithoutACLIsRefused(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "orders", Partitions: 1}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "bob", Password: "bob-pass-1"}))
	must(t, produce(t, c, SuperUser, c.AdminPassword, "orders", "secret"))

	err := produce(t, c, "bob", "bob-pass-1", "orders", "x")
	if !isAuthzErr(err) {
		t.Fatalf("produce without ACL: %v, want an authorization error", err)
	}
	t.Logf("produce without ACL: %v", err)
	got, err := consume(t, c, "bob", "bob-pass-1", "orders", "bob-group", 1)
	if !isAuthzErr(err) {
		t.Fatalf("consume in a group without ACL: got %v, err %v, want an authorization error", got, err)
	}
	t.Logf("consume in a group without ACL: %v", err)
	got, err = consume(t, c, "bob", "bob-pass-1", "orders", "", 1)
	if !isAuthzErr(err) {
		t.Fatalf("consume without group nor ACL: got %v, err %v, want an authorization error", got, err)
	}
	t.Logf("consume without a group nor ACL: %v", err)
}

func TestEnsureACLIsExact(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "events", Partitions: 1}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "carol", Password: "carol-pass-1"}))
	acl := engine.ACL{User: "carol", Pattern: "events", PatternType: engine.PatternLiteral, Write: true}
	for i := 0; i < 2; i++ {
		must(t, d.EnsureACL(ctx, c, acl))
	}
	must(t, produce(t, c, "carol", "carol-pass-1", "events", "1"))
	if _, err := consume(t, c, "carol", "carol-pass-1", "events", "g", 1); !isAuthzErr(err) {
		t.Fatalf("write-only user consumed: %v", err)
	}
	if n := groupACLs(t, c, "carol"); n != 0 {
		t.Fatalf("write-only user has %d group ACLs", n)
	}

	acl.Read, acl.Write = true, false
	must(t, d.EnsureACL(ctx, c, acl))
	if err := produce(t, c, "carol", "carol-pass-1", "events", "2"); !isAuthzErr(err) {
		t.Fatalf("read-only user produced: %v", err)
	}
	if _, err := consume(t, c, "carol", "carol-pass-1", "events", "g", 1); err != nil {
		t.Fatalf("read-only user cannot consume: %v", err)
	}
	if n := groupACLs(t, c, "carol"); n != 1 {
		t.Fatalf("reading user has %d group ACLs, want 1", n)
	}

	for i := 0; i < 2; i++ {
		must(t, d.DropACL(ctx, c, acl))
	}
	if _, err := consume(t, c, "carol", "carol-pass-1", "events", "g", 1); !isAuthzErr(err) {
		t.Fatalf("consume after DropACL: %v, want an authorization error", err)
	}
	if n := groupACLs(t, c, "carol"); n != 0 {
		t.Fatalf("user without ACLs has %d group ACLs", n)
	}

	// Dropping the user drops its ACLs too.
	must(t, d.EnsureACL(ctx, c, acl))
	must(t, d.DropUser(ctx, c, "carol"))
	if n := len(userACLs(t, c, "carol")); n != 0 {
		t.Fatalf("dropped user still has %d ACLs", n)
	}
}

func TestPrefixedAndAllPatterns(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	for _, topic := range []string{"logs.app", "logs.db", "metrics"} {
		must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: topic, Partitions: 1}))
	}
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "logger", Password: "logger-pass"}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "auditor", Password: "auditor-pass"}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "logger", Pattern: "logs.", PatternType: engine.PatternPrefixed, Read: true, Write: true}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "auditor", PatternType: engine.PatternAll, Read: true}))

	must(t, produce(t, c, "logger", "logger-pass", "logs.app", "app-1"))
	must(t, produce(t, c, "logger", "logger-pass", "logs.db", "db-1"))
	if err := produce(t, c, "logger", "logger-pass", "metrics", "m"); !isAuthzErr(err) {
		t.Fatalf("prefixed ACL let logger produce to metrics: %v", err)
	}
	if _, err := consume(t, c, "logger", "logger-pass", "logs.db", "logger-g", 1); err != nil {
		t.Fatalf("prefixed consume: %v", err)
	}
	must(t, produce(t, c, SuperUser, c.AdminPassword, "metrics", "m-1"))
	for _, topic := range []string{"logs.app", "metrics"} {
		if _, err := consume(t, c, "auditor", "auditor-pass", topic, "audit-"+topic, 1); err != nil {
			t.Fatalf("all-topics reader cannot consume %s: %v", topic, err)
		}
	}
	if err := produce(t, c, "auditor", "auditor-pass", "metrics", "x"); !isAuthzErr(err) {
		t.Fatalf("read-only all-topics user produced: %v", err)
	}
}

func TestACLValidation(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	for _, a := range []engine.ACL{
		{User: "u", Pattern: "t", PatternType: "regex", Read: true},
		{User: "u", Pattern: "", PatternType: engine.PatternLiteral, Read: true},
		{User: "u", Pattern: "bad topic", PatternType: engine.PatternLiteral, Read: true},
		{User: SuperUser, Pattern: "t", PatternType: engine.PatternLiteral, Read: true},
		{User: "", Pattern: "t", PatternType: engine.PatternLiteral, Read: true},
	} {
		if err := d.EnsureACL(ctx, c, a); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("EnsureACL(%+v) = %v, want ErrInvalid", a, err)
		}
	}
}

// userACLs lists every ACL of a user, as the superuser sees them.
func userACLs(t *testing.T, c *engine.Cluster, user string) []aclEntry {
	t.Helper()
	_, cl, err := adminClient(c)
	must(t, err)
	defer cl.Close()
	es, err := describeACLs(enginetest.Ctx(t), cl, aclFilter{principal: principal(user)})
	must(t, err)
	return es
}

func groupACLs(t *testing.T, c *engine.Cluster, user string) int {
	n := 0
	for _, e := range userACLs(t, c, user) {
		if e.resType == kmsg.ACLResourceTypeGroup {
			n++
		}
	}
	return n
}
