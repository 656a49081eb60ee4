package kafka

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// benchCluster is enginetest.NewCluster for benchmarks: one node on a free
// loopback port under a fresh directory the engine user can enter.
func benchCluster(b *testing.B) *engine.Cluster {
	b.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-b")
	if err != nil {
		b.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	id := uuid.NewString()
	return &engine.Cluster{
		ID: uuid.NewString(), Engine: engine.Kafka, Dir: dir,
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Config: map[string]any{},
		AdminPassword: "bench-" + id[:8],
		Nodes: []engine.Node{{
			ID: id, Index: 0, Role: engine.RoleMaster, Host: "127.0.0.1", Port: port,
			Dir: filepath.Join(dir, "nodes", id[:8]),
		}},
	}
}

// BenchmarkEnsureOneNode measures Ensure of a new one-node cluster: config,
// directories, broker start, readiness probes, superuser login and the
// broker configuration.
func BenchmarkEnsureOneNode(b *testing.B) {
	d, err := New(Options{BrokerCommand: testBrokerCommand, BrokerEnv: []string{brokerEnv + "=1"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		c := benchCluster(b)
		b.StartTimer()
		if err := d.Ensure(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.Destroy(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkBareKfakeStart is the floor under BenchmarkEnsureOneNode: start
// the broker command on a hand-written configuration and wait until the
// superuser gets a metadata answer.
func BenchmarkBareKfakeStart(b *testing.B) {
	r, err := proc.Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		c := benchCluster(b)
		n := &c.Nodes[0]
		l := layout{home: n}
		if err := r.MkdirAll(filepath.Dir(n.Dir), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := r.MkdirAll(n.Dir, 0o700); err != nil {
			b.Fatal(err)
		}
		cfg := &brokerConfig{
			ClusterID: c.ID, DataDir: l.data(), PidFile: l.pid(), StatusFile: l.status(),
			SuperUser: SuperUser, SuperPassword: c.AdminPassword,
			Listeners: []listenerConfig{{NodeID: n.ID, Host: n.Host, Port: n.Port, Dir: n.Dir}},
		}
		if _, err := r.WriteFile(l.config(), cfg.encode(), 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		pid, err := r.StartDaemon(testBrokerCommand[0], []string{l.config()}, n.Dir, l.log(), brokerEnv+"=1")
		if err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(nodeAddr(n)),
			kgo.SASL(scram.Auth{User: SuperUser, Pass: c.AdminPassword}.AsSha512Mechanism()))
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := cl.Ping(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("broker never answered: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}

		b.StopTimer()
		cl.Close()
		proc.Terminate(pid, 30*time.Second)
		b.StartTimer()
	}
}
