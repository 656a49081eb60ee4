package redis

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// recorder is a slog handler keeping the messages it receives.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// TestNewClusterReplicasStartReplicating: the replicas of a new cluster
// start already replicating from the master (no REPLICAOF afterwards), and
// every server and sentinel started once.
func TestNewClusterReplicasStartReplicating(t *testing.T) {
	t.Parallel()
	enginetest.NeedsEngine(t, "Redis servers")
	d := newTestDriver(t)
	rec := &recorder{}
	d.log = slog.New(rec)
	c := enginetest.NewCluster(t, engine.Redis, 3)
	c.Password = "pw-" + c.ID[:8]
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	ensure(t, d, c)
	if n := rec.count("pointing redis replica at its master"); n != 0 {
		t.Errorf("%d replica(s) had to be pointed at the master after they started", n)
	}
	if n := rec.count("started redis server"); n != 3 {
		t.Errorf("%d servers started, want 3", n)
	}
	if n := rec.count("started redis sentinel"); n != 3 {
		t.Errorf("%d sentinels started, want 3", n)
	}
	r := acct(t, d, c)
	for i := range c.Nodes[1:] {
		n := &c.Nodes[1+i]
		ri, err := readRepl(context.Background(), r, c, n)
		if err != nil || ri.role != "slave" || ri.masterPort != c.Nodes[0].Port {
			t.Errorf("node %d: role %q master port %d (%v), want a replica of port %d", 1+i, ri.role, ri.masterPort, err, c.Nodes[0].Port)
		}
	}
}
