package objectstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/testutil/s3test"
)

// TestBucket runs the S3 storage against a real S3-compatible server:
// objects land under the prefix (as files of the server's directory),
// read back whole, a file above the single-upload size goes up in parts,
// and DeletePrefix removes a key and what is below it but not a key that
// merely starts alike.
func TestBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t, "backups")
	ctx := context.Background()
	for _, prefix := range []string{"some/prefix", ""} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			st, err := objectstore.New(srv.Config("backups", prefix+"/"))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Check(ctx); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			ds := "ds" + strings.ReplaceAll(prefix, "/", "")
			put := func(key string, data []byte) {
				t.Helper()
				p := filepath.Join(dir, filepath.Base(key))
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := st.Put(ctx, key, p); err != nil {
					t.Fatalf("put %s: %v", key, err)
				}
			}
			small := []byte("base backup")
			big := make([]byte, 17<<20) // above the 16 MiB of a single upload
			_, _ = rand.Read(big)
			put(ds+"/base/1/base.tar", small)
			put(ds+"/base/10/base.tar", small)
			put(ds+"/wal/000000010000000000000001", big)

			// The objects are files of the server's directory, under the prefix.
			onDisk := filepath.Join(bucket, filepath.FromSlash(prefix), ds, "wal", "000000010000000000000001")
			if b, err := os.ReadFile(onDisk); err != nil || !bytes.Equal(b, big) {
				t.Fatalf("the server holds %d bytes at %s (%v), want %d", len(b), onDisk, err, len(big))
			}
			for key, want := range map[string][]byte{ds + "/base/1/base.tar": small, ds + "/wal/000000010000000000000001": big} {
				r, err := st.Open(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				_ = r.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("read back %s: %d bytes, %v; want %d", key, len(got), err, len(want))
				}
			}
			if st.LocalPath(ds+"/base/1") != "" {
				t.Error("objects in S3 have a local path")
			}

			if err := st.DeletePrefix(ctx, ds+"/base/1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Open(ctx, ds+"/base/1/base.tar"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after DeletePrefix: %v, want not found", err)
			}
			if r, err := st.Open(ctx, ds+"/base/10/base.tar"); err != nil {
				t.Errorf("DeletePrefix of base/1 removed base/10: %v", err)
			} else {
				_ = r.Close()
			}
			if err := st.DeletePrefix(ctx, ds+"/base/1"); err != nil {
				t.Errorf("deleting again: %v", err)
			}
			if err := st.DeletePrefix(ctx, ds+"/wal/000000010000000000000001"); err != nil { // one object
				t.Fatal(err)
			}
			if _, err := os.Stat(onDisk); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the deleted object is still on the server: %v", err)
			}
			for _, bad := range []string{"", "../x", "/abs", "a/../../x", "."} {
				if err := st.Put(ctx, bad, onDisk); err == nil {
					t.Errorf("key %q accepted", bad)
				}
				if err := st.DeletePrefix(ctx, bad); err == nil {
					t.Errorf("delete of key %q accepted", bad)
				}
			}
		})
	}
}

// TestBucketRefusals: wrong credentials and a missing bucket give
// errors that say what is wrong, and neither they nor the configuration's
// printed or logged forms hold the secret key.
func TestBucketRefusals(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.Bucket(t, "backups")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	wrongSecret := srv.Config("backups", "p")
	wrongSecret.SecretKey = "Wrong-secret-" + srv.SecretKey[:8]
	wrongKey := srv.Config("backups", "p")
	wrongKey.AccessKey = "unknown-access-key"
	for name, cfg := range map[string]objectstore.Config{"secret": wrongSecret, "access key": wrongKey} {
		st, err := objectstore.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		errs := []error{st.Check(ctx), st.Put(ctx, "ds/wal/f", file), st.DeletePrefix(ctx, "ds")}
		_, err = st.Open(ctx, "ds/wal/f")
		errs = append(errs, err)
		for _, err := range errs {
			if err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "--backup-store-secret-key-file") {
				t.Errorf("wrong %s: %v, want an error saying the credentials were refused", name, err)
				continue
			}
			noSecrets(t, "error", err.Error(), cfg.SecretKey, srv.SecretKey)
		}
	}

	missing, err := objectstore.New(srv.Config("no-such-bucket", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{missing.Check(ctx), missing.Put(ctx, "ds/wal/f", file)} {
		if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
			t.Errorf("missing bucket: %v", err)
		}
	}

	// The configuration prints and logs without its credentials.
	cfg := srv.Config("backups", "p")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("storage", "config", cfg, "ptr", &cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logged.String()} {
		noSecrets(t, "printed configuration", s, srv.SecretKey, srv.AccessKey)
		if !strings.Contains(s, "s3://backups/p?endpoint=") {
			t.Errorf("printed configuration %q does not say where the storage is", s)
		}
	}
}

// noSecrets fails when s holds one of the secrets.
func noSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s holds a credential: %s", what, regexp.MustCompile(regexp.QuoteMeta(secret)).ReplaceAllString(s, "<THE SECRET>"))
		}
	}
}
