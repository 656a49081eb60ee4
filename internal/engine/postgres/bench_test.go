package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// benchCluster is a new cluster of n nodes (the first the master).
func benchCluster(b *testing.B, n int) *engine.Cluster {
	b.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-b")
	if err != nil {
		b.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	c := &engine.Cluster{ID: "bench", Engine: engine.PostgreSQL, Dir: dir,
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Config: map[string]any{}}
	for i := 0; i < n; i++ {
		role := engine.RoleReplica
		if i == 0 {
			role = engine.RoleMaster
		}
		c.Nodes = append(c.Nodes, engine.Node{ID: fmt.Sprintf("bench-node-%d", i), Index: i, Role: role, Host: "127.0.0.1",
			Port: freeTestPort(), Dir: filepath.Join(dir, "nodes", fmt.Sprintf("bench%d", i))})
	}
	return c
}

// BenchmarkEnsureOneNode measures Ensure of a new 1-node cluster with the
// template already prepared: copy, configure, pg_ctl start -w, checks.
func BenchmarkEnsureOneNode(b *testing.B) { benchEnsure(b, 1) }

// BenchmarkEnsureThreeNodes is BenchmarkEnsureOneNode with two replicas
// (ensured until they stream).
func BenchmarkEnsureThreeNodes(b *testing.B) { benchEnsure(b, 3) }

func benchEnsure(b *testing.B, nodes int) {
	d := New(Options{TemplateDir: templateDir, Logger: testLogger()})
	ctx := context.Background()
	e, err := d.env(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.templateData(ctx, e); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := benchCluster(b, nodes)
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

// BenchmarkBareInitdbStart is the baseline: initdb with the same options
// and pg_ctl start -w, nothing else.
func BenchmarkBareInitdbStart(b *testing.B) {
	d := New(Options{TemplateDir: templateDir, Logger: testLogger()})
	ctx := context.Background()
	e, err := d.env(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	r := e.r
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := benchCluster(b, 1)
		p := pathsOf(&c.Nodes[0])
		if err := r.MkdirAll(filepath.Dir(p.dir), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := r.MkdirAll(p.dir, 0o750); err != nil {
			b.Fatal(err)
		}
		if err := r.MkdirAll(p.socketDir, 0o700); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := r.Run(ctx, e.inst.bin("initdb"), initdbArgs(p.data)...); err != nil {
			b.Fatal(err)
		}
		opts := "-c listen_addresses='127.0.0.1' -c unix_socket_directories='" + p.socketDir + "' -c port=" + itoa(p.port)
		if _, err := r.Run(ctx, e.inst.bin("pg_ctl"), "start", "-w", "-D", p.data, "-l", filepath.Join(p.dir, "log"), "-o", opts); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		pid := serverPID(p)
		if _, err := r.Run(ctx, e.inst.bin("pg_ctl"), "stop", "-w", "-m", "immediate", "-D", p.data); err != nil {
			proc.Terminate(pid, 0)
		}
		b.StartTimer()
	}
}
