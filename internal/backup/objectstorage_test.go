package backup_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/backup"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/s3test"
	"github.com/dbaasd/dbaasd/internal/testutil/syncbuf"
)

// sqlEngine is what the object storage test does with an engine.
type sqlEngine struct {
	engine  string
	fixture func(testing.TB, *at.Env, string) (string, *at.Response)
	exec    func(testing.TB, *at.Response, string)
	ints    func(testing.TB, *at.Response, string) []int
}

var sqlEngines = []sqlEngine{
	{"postgresql", pgFixture,
		func(t testing.TB, r *at.Response, q string) {
			pgExec(t, pgConn(t, r, "app", "Secret-pass-1", "appdb"), q)
		},
		func(t testing.TB, r *at.Response, q string) []int {
			return pgInts(t, pgConn(t, r, "app", "Secret-pass-1", "appdb"), q)
		}},
	{"mysql_native", myFixture,
		func(t testing.TB, r *at.Response, q string) {
			myExec(t, myConn(t, r, "app", "Secret-pass-1", "appdb"), q)
		},
		func(t testing.TB, r *at.Response, q string) []int {
			return myInts(t, myConn(t, r, "app", "Secret-pass-1", "appdb"), q)
		}},
}

// TestObjectStoragePointInTimeRestore runs dbaasd's local runtime with
// --backup-store on a real S3-compatible server (versitygw over a
// directory). For PostgreSQL (WAL) and MySQL (binary logs): a backup
// with rows lands in the bucket and nothing of it stays in the data dir;
// more rows follow, then the source is deleted (its last log archived and
// uploaded on the way) and the machine's backup directory of it is wiped,
// as if its disk were lost; a point-in-time restore into a new datastore,
// from the bucket alone, has exactly the rows up to the target. dbaasd's
// log never holds the credentials.
func TestObjectStoragePointInTimeRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t, "backups")
	cfg := srv.Config("backups", "dbaasd/test")
	var logs syncbuf.Buffer
	e := at.Start(t, at.Options{Reconcile: true, BackupStore: &cfg, LogWriter: &logs})
	inBucket := func(key string) string {
		return filepath.Join(bucket, "dbaasd", "test", filepath.FromSlash(key))
	}
	t.Run("engines", func(t *testing.T) {
		for _, eng := range sqlEngines {
			t.Run(eng.engine, func(t *testing.T) {
				t.Parallel()
				src, r := eng.fixture(t, e, eng.engine+"-s3")
				waitAllowRestore(t, e, src)
				eng.exec(t, r, "CREATE TABLE t (x int PRIMARY KEY)")
				eng.exec(t, r, "INSERT INTO t VALUES (1), (2), (3)")
				backupNow(t, e, src)

				// Every backup is in the bucket with its recorded size, and
				// none of it stays in the data dir.
				local := filepath.Join(backup.Root(e.DataDir), src)
				backups, _ := catalogue(t, e, src)
				complete := 0
				for _, b := range backups {
					if b.Status != store.BackupComplete {
						continue
					}
					complete++
					for _, f := range b.Files {
						if st, err := os.Stat(inBucket(b.Location + "/" + f.Name)); err != nil || st.Size() != f.Size {
							t.Errorf("backup file %s/%s in the bucket: %v (want %d bytes)", b.Location, f.Name, err, f.Size)
						}
					}
				}
				if complete < 2 {
					t.Errorf("%d complete backups, want 2: %+v", complete, backups)
				}
				if _, err := os.Stat(filepath.Join(local, "base")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the data dir holds backups: %v", err)
				}

				eng.exec(t, r, "INSERT INTO t VALUES (4), (5)")
				t2 := nextSecond()
				eng.exec(t, r, "INSERT INTO t VALUES (6), (7)")
				deleteAndUpload(t, e, src)
				_, files := catalogue(t, e, src)
				for _, f := range files {
					if st, err := os.Stat(inBucket(src + "/wal/" + f.Name)); err != nil || st.Size() != f.SizeBytes {
						t.Errorf("archived file %s in the bucket: %v (want %d bytes)", f.Name, err, f.SizeBytes)
					}
				}
				if len(files) == 0 {
					t.Fatal("nothing was archived")
				}
				// The machine's disk of backups is lost.
				if err := os.RemoveAll(local); err != nil {
					t.Fatal(err)
				}

				restored := restore(t, e, eng.engine, eng.engine+"-s3-at-t2", 1, src, &t2)
				if got := eng.ints(t, restored, "SELECT x FROM t ORDER BY x"); fmt.Sprint(got) != "[1 2 3 4 5]" {
					t.Errorf("rows restored to t2 from the bucket = %v, want [1 2 3 4 5]", got)
				}
			})
		}
	})
	noSecrets(t, "dbaasd's log", logs.String(), srv.SecretKey, srv.AccessKey)
	if !strings.Contains(logs.String(), "s3://backups/dbaasd/test") {
		t.Error("dbaasd's log does not say where backups go")
	}
}

// noSecrets fails when s holds one of the secrets.
func noSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s holds a credential", what)
		}
	}
}

// deleteAndUpload deletes a datastore and waits until every file its
// engine archived is in the archive index (uploaded).
func deleteAndUpload(t *testing.T, e *at.Env, id string) {
	t.Helper()
	if d := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+id, nil); d.Status >= 300 {
		t.Fatalf("delete: %d %s", d.Status, d.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+id, wait)
	dir := backup.ArchiveDir(backup.Root(e.DataDir), id)
	deadline := time.Now().Add(wait)
	for {
		indexed := map[string]bool{}
		files, err := e.D.Store.ListArchiveFiles(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			indexed[f.Name] = true
		}
		var missing []string
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if !strings.HasPrefix(en.Name(), ".") && !indexed[en.Name()] {
				missing = append(missing, en.Name())
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("archived files of %s never uploaded: %v", id, missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
