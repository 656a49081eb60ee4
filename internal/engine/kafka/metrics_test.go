package kafka

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestSampleAndLogFiles(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 2)
	ctx := ctxFor(t, time.Minute)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "orders", Partitions: 3}))
	must(t, produce(t, c, SuperUser, c.AdminPassword, "orders", "a", "b", "c", "d", "e"))
	s, err := d.Sample(ctx, c)
	must(t, err)
	if len(s.Nodes) != 2 {
		t.Fatalf("nodes %+v", s.Nodes)
	}
	var in, parts float64
	for _, n := range s.Nodes {
		if !n.Up || n.PID == 0 || n.Values[metricTopics] != 1 {
			t.Fatalf("node %+v: want up, the broker's PID and one topic", n)
		}
		in += n.Values[metricMessagesIn]
		parts += n.Values[metricPartitions]
	}
	if in != 5 || parts != 3 {
		t.Errorf("nodes lead %v partitions with %v records, want 3 and 5", parts, in)
	}
	if len(s.Databases) != 1 {
		t.Fatalf("databases %+v: want the topic", s.Databases)
	}
	o := s.Databases[0]
	if o.Name != "orders" || o.Values[metricMessagesIn] != 5 || o.Values[metricMessages] != 5 || o.Values[metricPartitions] != 3 {
		t.Fatalf("topic sample %+v", o)
	}

	files := d.LogFiles(c)
	if len(files) != 1 || files[0].Job != engine.JobKafka {
		t.Fatalf("log files %+v", files)
	}
	b, err := os.ReadFile(files[0].Path)
	if err != nil || !strings.Contains(string(b), "kafka-broker: ") {
		t.Fatalf("broker log %s: %v %q", files[0].Path, err, b)
	}

	must(t, d.Stop(context.Background(), c))
	s, err = d.Sample(ctx, c)
	if err != nil || s.Nodes[0].Up || s.Nodes[1].Up || s.Nodes[0].PID != 0 || len(s.Databases) != 0 {
		t.Fatalf("stopped cluster: %+v, %v", s, err)
	}
}
