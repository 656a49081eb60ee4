package redis

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
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

// TestNewClusterStartsAtOnce: every server and sentinel of a new cluster
// starts once; the replicas, started at the same time as the master, are
// pointed at it once it answers, replicate from it, and have the master
// in their configuration files, so that they restart as its replicas.
func TestNewClusterStartsAtOnce(t *testing.T) {
	t.Parallel()
	enginetest.NeedsEngine(t, "Redis servers")
	d := newTestDriver(t)
	rec := &recorder{}
	d.log = slog.New(rec)
	c := enginetest.NewCluster(t, engine.Redis, 3)
	c.Password = "pw-" + c.ID[:8]
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	ensure(t, d, c)
	if n := rec.count("pointing redis replica at its master"); n != 2 {
		t.Errorf("%d replica(s) pointed at the master, want 2", n)
	}
	if n := rec.count("started redis server"); n != 3 {
		t.Errorf("%d servers started, want 3", n)
	}
	if n := rec.count("started redis sentinel"); n != 3 {
		t.Errorf("%d sentinels started, want 3", n)
	}
	r := acct(t, d, c)
	master := &c.Nodes[0]
	want := "replicaof " + reachIP(master) + " " + strconv.Itoa(master.Port)
	for i := range c.Nodes[1:] {
		n := &c.Nodes[1+i]
		ri, err := readRepl(context.Background(), r, c, n)
		if err != nil || ri.role != "slave" || ri.masterPort != master.Port {
			t.Errorf("node %d: role %q master port %d (%v), want a replica of port %d", 1+i, ri.role, ri.masterPort, err, master.Port)
		}
		conf, err := r.ReadFile(nodePaths(n).conf)
		if err != nil || !strings.Contains(string(conf), want+"\n") {
			t.Errorf("node %d: redis.conf lacks %q (%v)", 1+i, want, err)
		}
	}
	if conf, err := r.ReadFile(nodePaths(master).conf); err != nil || strings.Contains(string(conf), "replicaof") {
		t.Errorf("master's redis.conf names a master (%v)", err)
	}

	// A second Ensure of the running cluster starts and points nothing.
	before := rec.count("pointing redis replica at its master")
	ensure(t, d, c)
	if n := rec.count("pointing redis replica at its master") - before; n != 0 {
		t.Errorf("a second Ensure pointed %d replica(s) again", n)
	}
	if n := rec.count("started redis server"); n != 3 {
		t.Errorf("a second Ensure started servers: %d starts in all", n)
	}
}
