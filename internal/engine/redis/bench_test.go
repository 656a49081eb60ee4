package redis

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// BenchmarkEnsureOneNode measures creating a one-node cluster from nothing
// (directories, config, daemon start, readiness) until Ensure returns.
func BenchmarkEnsureOneNode(b *testing.B) {
	d := newTestDriver(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		c := benchCluster(b)
		b.StartTimer()
		if err := d.Ensure(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = d.Destroy(ctx, c)
		b.StartTimer()
	}
}

// BenchmarkBareRedisStart is the floor: redis-server --port X --daemonize yes,
// then PING until it answers.
func BenchmarkBareRedisStart(b *testing.B) {
	bin, err := serverBinary()
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dir := benchDir(b)
		port := freePort(b)
		pidFile := dir + "/redis.pid"
		b.StartTimer()
		out, err := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--daemonize", "yes",
			"--dir", dir, "--pidfile", pidFile, "--save", "", "--logfile", dir+"/redis.log").CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		// Dial, then PING, as the driver's readiness check does.
		for {
			cl, err := dialClient(ctx, endpoint{network: "tcp", addr: addr("127.0.0.1", port), timeout: time.Second}, cred{})
			if err == nil {
				err = cl.Ping(ctx).Err()
				_ = cl.Close()
			}
			if err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		for i := 0; i < 100 && proc.ReadPidFile(pidFile) == 0; i++ {
			time.Sleep(time.Millisecond)
		}
		proc.Terminate(proc.ReadPidFile(pidFile), 5*time.Second)
		b.StartTimer()
	}
}

func benchCluster(b *testing.B) *engine.Cluster {
	dir := benchDir(b)
	c := &engine.Cluster{ID: "bench", Engine: engine.Redis, Dir: dir, Password: "bench-password",
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}}
	c.Nodes = []engine.Node{{ID: "n0", Role: engine.RoleMaster, Host: "127.0.0.1", Port: freePort(b), Dir: dir + "/nodes/n0"}}
	return c
}

// benchDir returns a directory the engine user can enter.
func benchDir(b *testing.B) string {
	dir, err := os.MkdirTemp("", "dbaasd-b")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
