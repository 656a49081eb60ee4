package redis

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func podCluster() *engine.Cluster {
	return &engine.Cluster{ID: "ds1", Engine: engine.Redis, Password: "Tenant-pw-1", AdminPassword: "admin-secret",
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Config: map[string]any{"maxmemory-policy": "allkeys-lru"},
		Nodes: []engine.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
}

// TestPodFiles: the files of a pod hold the tenant's password only
// hashed, listen on Unix sockets only, and give the forwarder exactly
// the addresses asked for.
func TestPodFiles(t *testing.T) {
	t.Parallel()
	f, err := Pod(podCluster(), []string{"192.0.2.0/24"}, 5000, 20000)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"redis.conf": f.Server, "sentinel.conf": f.Sentinel} {
		s := string(b)
		if strings.Contains(s, "Tenant-pw-1") {
			t.Errorf("%s holds the tenant's password in clear", name)
		}
		if !strings.Contains(s, passwordHash("Tenant-pw-1")) || !strings.Contains(s, "port \"0\"\n") && !strings.Contains(s, "port 0\n") {
			t.Errorf("%s lacks the tenant's hash or listens on TCP:\n%s", name, s)
		}
	}
	for _, want := range []string{`maxmemory-policy "allkeys-lru"`, `maxmemory "805306368"`, "replica-announce-ip " + PodSelf} {
		if !strings.Contains(string(f.Server), want+"\n") {
			t.Errorf("redis.conf lacks %q:\n%s", want, f.Server)
		}
	}
	if !strings.Contains(string(f.Sentinel), "sentinel monitor dbaasd "+PodMaster+" 6379 2\n") {
		t.Errorf("sentinel.conf does not watch the master with a quorum of 2:\n%s", f.Sentinel)
	}
	var fw forwarderConfig
	if err := json.Unmarshal(f.Forwarder, &fw); err != nil {
		t.Fatal(err)
	}
	if len(fw.Routes) != 2 || strings.Join(fw.Allow, ",") != "192.0.2.0/24" {
		t.Errorf("forwarder: %+v", fw)
	}
	if string(f.Internal) != internalSecret(podCluster()) {
		t.Error("the internal password is not the cluster's internal user's")
	}
	c := podCluster()
	c.Config = map[string]any{"Bad Name": 1}
	if _, err := Pod(c, nil, 5000, 20000); err == nil {
		t.Error("a parameter name Redis does not have was accepted")
	}
}

// TestPodFilesRun starts redis-server and redis-sentinel with a pod's
// files (their directories moved into a temporary one): both start, the
// internal user manages them, and the tenant has its limits.
func TestPodFilesRun(t *testing.T) {
	enginetest.NeedsEngine(t, "Redis servers")
	t.Parallel()
	c := podCluster()
	f, err := Pod(c, nil, 5000, 20000)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dbaasd-pod") // short: socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	run, data := filepath.Join(dir, "r"), filepath.Join(dir, "d")
	for _, d := range []string{run, data} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	place := func(b []byte, name string) string {
		s := strings.NewReplacer(PodRunDir, run, `"`+PodDataDir+`"`, `"`+data+`"`, PodSelf, "127.0.0.1", PodMaster, "127.0.0.1").Replace(string(b))
		p := filepath.Join(run, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := enginetest.Ctx(t)
	for _, srv := range []struct{ bin, conf, sock string }{
		{"redis-server", place(f.Server, "redis.conf"), "redis.sock"},
		{"redis-sentinel", place(f.Sentinel, "sentinel.conf"), "sentinel.sock"},
	} {
		bin, err := exec.LookPath(srv.bin)
		if err != nil {
			t.Skipf("%s: %v", srv.bin, err)
		}
		cmd := exec.CommandContext(ctx, bin, srv.conf)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		sock := filepath.Join(run, srv.sock)
		internal := goredis.NewClient(&goredis.Options{Network: "unix", Addr: sock, Username: internalUser, Password: string(f.Internal), Protocol: 2})
		tenant := goredis.NewClient(&goredis.Options{Network: "unix", Addr: sock, Password: c.Password, Protocol: 2})
		t.Cleanup(func() { _ = internal.Close(); _ = tenant.Close() })
		var perr error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if perr = internal.Ping(ctx).Err(); perr == nil {
				break
			}
		}
		if perr != nil {
			t.Fatalf("%s does not answer its internal user: %v", srv.bin, perr)
		}
		if err := tenant.Ping(ctx).Err(); err != nil {
			t.Errorf("%s refuses the tenant: %v", srv.bin, err)
		}
		if err := tenant.Do(context.Background(), "CONFIG", "GET", "masterauth").Err(); err == nil {
			t.Errorf("the tenant reads %s's configuration", srv.bin)
		}
	}
	internal := goredis.NewClient(&goredis.Options{Network: "unix", Addr: filepath.Join(run, "redis.sock"), Username: internalUser, Password: string(f.Internal), Protocol: 2})
	defer func() { _ = internal.Close() }()
	if v, err := internal.ConfigGet(ctx, "maxmemory-policy").Result(); err != nil || v["maxmemory-policy"] != "allkeys-lru" {
		t.Errorf("maxmemory-policy %v (%v)", v, err)
	}
}
