package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/testutil/s3test"
)

// TestBackupStorage: --backup-store gives the local runtime an S3
// storage; credentials the server refuses or a missing bucket keep dbaasd
// from starting, a server out of reach does not; neither the errors nor
// the log hold the secret key; the Kubernetes runtime leaves the object
// storage to the operator.
func TestBackupStorage(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.Bucket(t, "backups")
	ctx := context.Background()
	var logs bytes.Buffer
	daemon := func(runtime string, c objectstore.Config) *Daemon {
		return &Daemon{cfg: Config{Runtime: runtime, BackupStore: &c}, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	}

	good := srv.Config("backups", "p")
	if s, err := daemon(RuntimeLocal, good).backupStorage(ctx); err != nil {
		t.Fatal(err)
	} else if _, ok := s.(*objectstore.Bucket); !ok {
		t.Fatalf("local runtime with --backup-store: storage %T", s)
	}
	if s, err := daemon(RuntimeKubernetes, good).backupStorage(ctx); err != nil || s != nil {
		t.Errorf("kubernetes runtime: storage %v, %v; want the data dir's", s, err)
	}
	if s, err := (&Daemon{cfg: Config{}}).backupStorage(ctx); err != nil || s != nil {
		t.Errorf("no --backup-store: storage %v, %v", s, err)
	}

	badSecret := good
	badSecret.SecretKey = "Wrong-" + good.SecretKey
	missing := srv.Config("missing", "")
	for what, c := range map[string]objectstore.Config{"wrong secret": badSecret, "missing bucket": missing} {
		_, err := daemon(RuntimeLocal, c).backupStorage(ctx)
		if !errors.Is(err, objectstore.ErrRefused) {
			t.Errorf("%s: %v, want a refusal", what, err)
		} else if strings.Contains(err.Error(), badSecret.SecretKey) || strings.Contains(err.Error(), good.SecretKey) {
			t.Errorf("%s: the error holds the secret: %v", what, err)
		}
	}

	away := good
	away.Endpoint = "http://127.0.0.1:1" // nothing listens there
	if s, err := daemon(RuntimeLocal, away).backupStorage(ctx); err != nil || s == nil {
		t.Errorf("a server out of reach: %v, %v; want a storage that waits for it", s, err)
	}
	if !strings.Contains(logs.String(), "out of reach") {
		t.Errorf("the log does not say the storage is out of reach: %s", logs.String())
	}
	if strings.Contains(logs.String(), good.SecretKey) || strings.Contains(logs.String(), good.AccessKey) {
		t.Errorf("the log holds the credentials: %s", logs.String())
	}
}
