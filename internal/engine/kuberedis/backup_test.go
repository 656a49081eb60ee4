package kuberedis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

// runServer runs redis-server with the pod files of c, moved into dir
// and listening on port as well; it returns a client of the internal user.
func runServer(t *testing.T, dir string, port int, extra string) *goredis.Client {
	t.Helper()
	c := cluster(1)
	f, err := redis.Pod(c, nil, downAfterMs, failoverTimeoutMs)
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer(redis.PodRunDir, dir, `"`+redis.PodDataDir+`"`, `"`+dir+`"`, redis.PodSelf, "127.0.0.1").Replace(string(f.Server))
	conf += fmt.Sprintf("port %d\nbind 127.0.0.1\n%s", port, extra)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(bin, path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	user, pass := redis.InternalUser(c)
	cl := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Username: user, Password: pass, Protocol: 2})
	t.Cleanup(func() { _ = cl.Close() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err = cl.Ping(context.Background()).Err(); err == nil {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not answer: %v", err)
		}
	}
}

// TestSyncSnapshot takes a snapshot of a real server the way BaseBackup
// does (SYNC as the internal user) and starts a second server on it: it
// has every key. The tenant cannot take one.
func TestSyncSnapshot(t *testing.T) {
	enginetest.NeedsEngine(t, "Redis servers")
	t.Parallel()
	ctx := enginetest.Ctx(t)
	src := runServer(t, enginetest.TempDir(t), enginetest.FreePort(t), "")
	for i := range 1000 {
		if err := src.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c := cluster(1)
	out := filepath.Join(enginetest.TempDir(t), snapshotFile)
	before := time.Now().UTC()
	at, err := syncSnapshot(ctx, c, src.Options().Addr, out)
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("snapshot started at %s, asked at %s", at, before)
	}
	if err := src.Set(ctx, "after", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}

	dir := enginetest.TempDir(t)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := runServer(t, dir, enginetest.FreePort(t), "")
	if n, err := restored.DBSize(ctx).Result(); err != nil || n != 1000 {
		t.Errorf("the restored server holds %d keys (%v), want the 1000 written before the snapshot", n, err)
	}
	if v, err := restored.Get(ctx, "k999").Int(); err != nil || v != 999 {
		t.Errorf("k999 = %d (%v)", v, err)
	}

	tenant := c
	tenant.AdminPassword = "not the admin secret" // another internal password: refused
	if _, err := syncSnapshot(ctx, tenant, src.Options().Addr, out+".2"); err == nil {
		t.Error("a snapshot was sent to a client without the internal user's password")
	}
}

// TestRunSeed: the seed does nothing without a seed, in a pod other than
// the first, or on a volume that has a dataset.
func TestRunSeed(t *testing.T) {
	for _, tc := range []struct{ pod, key string }{{"redis-0", ""}, {"redis-1", "x/dump.rdb"}, {"redis-2", ""}} {
		t.Setenv("POD_NAME", tc.pod)
		t.Setenv("SEED_KEY", tc.key)
		if err := RunSeed(nil); err != nil {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	if err := RunSeed([]string{"extra"}); err == nil {
		t.Error("arguments were accepted")
	}
}
