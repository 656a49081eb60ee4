package redis

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// BenchmarkEnsureOneNode measures creating a one-node cluster from nothing
// (directories, config, daemon start, readiness) until Ensure returns.
func BenchmarkEnsureOneNode(b *testing.B) { benchmarkEnsure(b, 1) }

// BenchmarkEnsureThreeNodes measures creating a master, two replicas and
// three Sentinels from nothing until Ensure returns; beside
// BenchmarkEnsureOneNode it gives what the replicas cost.
func BenchmarkEnsureThreeNodes(b *testing.B) { benchmarkEnsure(b, 3) }

func benchmarkEnsure(b *testing.B, nodes int) {
	enginetest.NeedsEngine(b, "Redis servers")
	d := newTestDriver(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		c := enginetest.NewCluster(b, engine.Redis, nodes)
		c.Password = "bench-password"
		enginetest.GivePorts(b, d, c)
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
		dir := enginetest.TempDir(b)
		port := enginetest.FreePort(b)
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
