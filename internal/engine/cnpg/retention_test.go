package cnpg

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/testutil/s3test"
)

// The operator prunes backups only where it keeps them (object storage),
// by a recovery window of the datastore's retention in days.
func TestRetentionPolicy(t *testing.T) {
	t.Parallel()
	if (&Driver{}).AppliesRetention() {
		t.Error("a driver without object storage claims to apply retention")
	}
	if !(&Driver{opts: Options{ObjectStore: &ObjectStore{Bucket: "b"}}}).AppliesRetention() {
		t.Error("a driver with object storage does not apply retention")
	}
	for days, want := range map[int]string{0: "1d", 1: "1d", 7: "7d", 3650: "3650d"} {
		if got := retentionPolicy(&engine.Cluster{BackupRetentionDays: days}); got != want {
			t.Errorf("%d days: %q, want %q", days, got, want)
		}
	}
}

// PurgeBackups deletes a datastore's barman server directory from a real
// S3-compatible server, and nothing of another datastore, even one whose
// name starts alike.
func TestPurgeBackups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := s3test.Start(t)
	dir := srv.Bucket(t, "backups")
	cfg := srv.Config("backups", "pre")
	b, err := objectstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(src, []byte("barman"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := []string{"ds1/base/20261207T000000/data.tar.gz", "ds1/wals/0000000100000000/000000010000000000000003.gz",
		"ds10/base/20261207T000000/data.tar.gz", "ds2/wals/0000000100000000/000000010000000000000001.gz"}
	for _, k := range keys {
		if err := b.Put(ctx, k, src); err != nil {
			t.Fatal(err)
		}
	}
	d := &Driver{opts: Options{ObjectStore: &ObjectStore{Endpoint: cfg.Endpoint, Region: cfg.Region, Bucket: cfg.Bucket,
		Prefix: "/pre/", AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey}}}
	for range 2 { // the second call finds nothing and succeeds
		if err := d.PurgeBackups(ctx, "DS1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		_, err := os.Stat(filepath.Join(dir, "pre", k))
		if gone := errors.Is(err, fs.ErrNotExist); gone != strings.HasPrefix(k, "ds1/") {
			t.Errorf("%s: gone %v after purging DS1 (%v)", k, gone, err)
		}
	}
	if err := (&Driver{}).PurgeBackups(ctx, "DS1"); err != nil {
		t.Errorf("without object storage: %v", err)
	}
}
