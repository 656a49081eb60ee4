package kafka

import (
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestStateSurvivesRestart checks that users, topics, ACLs, records and
// committed offsets outlive a clean stop, and that acknowledged records
// outlive a SIGKILL.
func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "durable", Partitions: 3}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "erin", Password: "erin-pass"}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "erin", Pattern: "durable", PatternType: engine.PatternLiteral, Read: true, Write: true}))
	var sent []string
	for i := 0; i < 20; i++ {
		sent = append(sent, "r"+strconv.Itoa(i))
	}
	must(t, produce(t, c, "erin", "erin-pass", "durable", sent...))
	// Commit the first consumption in a group.
	if _, err := consume(t, c, "erin", "erin-pass", "durable", "erin-g", len(sent)); err != nil {
		t.Fatal(err)
	}

	must(t, d.Stop(ctx, c))
	must(t, d.Ensure(ctx, c))
	enginetest.WaitObserved(t, d, c)

	if n := partitionsInMetadata(t, c, "durable"); n != 3 {
		t.Fatalf("after restart the topic has %d partitions, want 3", n)
	}
	got, err := consume(t, c, "erin", "erin-pass", "durable", "", len(sent))
	if err != nil {
		t.Fatalf("consume as erin after restart (user and ACL must survive): %v", err)
	}
	slices.Sort(got)
	want := slices.Clone(sent)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after restart read %v, want %v", got, want)
	}
	// The group's committed offsets survived: it has nothing new to read.
	must(t, produce(t, c, "erin", "erin-pass", "durable", "after-restart"))
	got, err = consume(t, c, "erin", "erin-pass", "durable", "erin-g", 1)
	must(t, err)
	if len(got) != 1 || got[0] != "after-restart" {
		t.Fatalf("group resumed with %v, want only the new record", got)
	}

	// A crash (SIGKILL) keeps acknowledged records: they were written to
	// the segment files before the ack.
	must(t, produce(t, c, "erin", "erin-pass", "durable", "before-crash"))
	for _, pid := range d.PIDs(c, &c.Nodes[0]) {
		must(t, syscall.Kill(pid, syscall.SIGKILL))
	}
	must(t, d.Ensure(ctx, c))
	got, err = consume(t, c, "erin", "erin-pass", "durable", "", len(sent)+2)
	must(t, err)
	if !slices.Contains(got, "before-crash") {
		t.Fatalf("record acknowledged before a crash is lost: %v", got)
	}
}

// TestAdminPasswordRotation checks that a new admin password restarts the
// broker with it, keeping the data and the users.
func TestAdminPasswordRotation(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "frank", Password: "frank-pass"}))
	old := c.AdminPassword
	c.AdminPassword = "rotated-" + old
	must(t, d.Ensure(ctx, c))
	must(t, login(t, c, SuperUser, c.AdminPassword))
	if err := login(t, c, SuperUser, old); err == nil {
		t.Fatal("old admin password still accepted")
	}
	must(t, login(t, c, "frank", "frank-pass"))
}
