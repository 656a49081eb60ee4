package backup_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

func redisConn(t *testing.T, r *at.Response) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: r.Str("datastore.connection.master"), Password: "Redis-Secret-1", Protocol: 2})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisSnapshotRestore: a restore gets the keys of the newest
// snapshot (not what was written after it); a restore from a damaged
// snapshot fails with a message saying so and what to do, in the create
// action and the datastore's status.
func TestRedisSnapshotRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	ctx := context.Background()
	e := at.Start(t, at.Options{Reconcile: true})
	src := e.CreateDatastore(at.TokenA, "redis", "redis-src", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+src, "datastore", model.StatusActive, wait)
	waitAllowRestore(t, e, src)
	c := redisConn(t, r)
	for k, v := range map[string]string{"k1": "v1", "k2": "v2"} {
		if err := c.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	backupNow(t, e, src)
	if err := c.Set(ctx, "after", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}

	restored := restore(t, e, "redis", "redis-restored", 1, src, nil)
	rc := redisConn(t, restored)
	if v, err := rc.Get(ctx, "k1").Result(); err != nil || v != "v1" {
		t.Errorf("k1 = %q %v", v, err)
	}
	if v, err := rc.Get(ctx, "k2").Result(); err != nil || v != "v2" {
		t.Errorf("k2 = %q %v", v, err)
	}
	if n, err := rc.Exists(ctx, "after").Result(); err != nil || n != 0 {
		t.Errorf("a key written after the snapshot was restored (%d, %v)", n, err)
	}

	// Damage the newest snapshot: the restore refuses it.
	backups, _ := catalogue(t, e, src)
	newest := backups[len(backups)-1]
	if newest.Status != store.BackupComplete || newest.Kind != store.BackupKindSnapshot {
		t.Fatalf("newest backup: %+v", newest)
	}
	file := filepath.Join(e.DataDir, "backups", filepath.FromSlash(newest.Location), "dump.rdb")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // one flipped byte
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	resp := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", restoreBody(e, "redis", "redis-damaged", 1, src, nil))
	if resp.Status != http.StatusCreated {
		t.Fatalf("restore: %d %s", resp.Status, resp.Body)
	}
	id := resp.Str("datastore.id")
	e.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", model.StatusError, wait)
	a := createAction(t, e, id)
	if a.Str("action.status") != model.ActionError {
		t.Fatalf("create action: %s", a.Body)
	}
	mustContain(t, "restore error", a.Str("action.error"), "is damaged", "dump.rdb", "does not match the catalogue", "SHA-256", "restore to a time another backup serves")
}
