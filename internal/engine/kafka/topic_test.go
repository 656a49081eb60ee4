package kafka

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestTopicGrowsAndRefusesToShrink(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "grow", Partitions: 1}))
	if n := partitionsInMetadata(t, c, "grow"); n != 1 {
		t.Fatalf("metadata shows %d partitions, want 1", n)
	}
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "grow", Partitions: 3}))
	if n := partitionsInMetadata(t, c, "grow"); n != 3 {
		t.Fatalf("metadata shows %d partitions after growing, want 3", n)
	}
	err := d.EnsureTopic(ctx, c, engine.Topic{Name: "grow", Partitions: 2})
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("shrinking: %v, want ErrInvalid", err)
	}
	t.Logf("shrink refused: %v", err)
	if n := partitionsInMetadata(t, c, "grow"); n != 3 {
		t.Fatalf("metadata shows %d partitions after refused shrink, want 3", n)
	}
	must(t, d.DropTopic(ctx, c, "grow"))
	if n := partitionsInMetadata(t, c, "grow"); n != 0 {
		t.Fatalf("dropped topic still has %d partitions", n)
	}
	for _, bad := range []engine.Topic{{Name: "", Partitions: 1}, {Name: "a b", Partitions: 1}, {Name: "ok", Partitions: 0}} {
		if err := d.EnsureTopic(ctx, c, bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("EnsureTopic(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

// partitionsInMetadata asks the cluster, as the superuser, how many
// partitions a topic has (0 if it does not exist).
func partitionsInMetadata(t *testing.T, c *engine.Cluster, topic string) int {
	t.Helper()
	cl := client(t, c, SuperUser, c.AdminPassword)
	defer cl.Close()
	m, err := kadm.NewClient(cl).Metadata(enginetest.Ctx(t), topic)
	must(t, err)
	td, ok := m.Topics[topic]
	if !ok || td.Err != nil {
		return 0
	}
	return len(td.Partitions)
}
