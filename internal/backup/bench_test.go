package backup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// BenchmarkRestore100MB measures restoring a PostgreSQL datastore holding
// about 100 MB through the API: POST /v1/datastores with restore (latest
// state) until the new datastore is ACTIVE — archiving the live source's
// last WAL, verifying the backup's and the WAL's SHA-256, extracting the
// base backup, recovering, and Ensure starting the server and its pooler.
// The same run measures a bare baseline on the same data: pg_basebackup
// -Ft -X stream (plain tar), then extracting it and starting a server on
// it. Run with -benchtime=1x (each iteration is a whole restore).
func BenchmarkRestore100MB(b *testing.B) {
	ctx := context.Background()
	e := at.Start(b, at.Options{Reconcile: true})
	src, r := pgFixture(b, e, "pg-bench")
	c := pgConn(b, r, "app", "Secret-pass-1", "appdb")
	pgExec(b, c, `CREATE TABLE big AS SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) ||
		md5(random()::text) || md5(random()::text) || md5(random()::text) AS pad FROM generate_series(1, 420000) g`)
	var size int64
	if err := c.QueryRow(ctx, "SELECT pg_database_size('appdb')").Scan(&size); err != nil {
		b.Fatal(err)
	}
	backupNow(b, e, src)
	backups, _ := catalogue(b, e, src)
	last := backups[len(backups)-1]

	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		syscall.Sync() // every measurement starts without dirty pages
		t0 := time.Now()
		restore(b, e, "postgresql", "pg-bench-"+strconv.Itoa(i), 1, src, nil)
		total += time.Since(t0)
	}
	b.StopTimer()
	extract, start := baseline(b, e, src)
	b.ReportMetric(float64(size)/1e6, "MB_data")
	b.ReportMetric(float64(last.SizeBytes)/1e6, "MB_backup")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/restore")
	b.ReportMetric(extract.Seconds(), "s/baseline_extract")
	b.ReportMetric(start.Seconds(), "s/baseline_extract+start")
}

// baseline takes a plain pg_basebackup of the datastore's primary, then
// times extracting it and starting a server on it (stopped afterwards).
func baseline(b *testing.B, e *at.Env, dsID string) (extract, start time.Duration) {
	b.Helper()
	ctx := context.Background()
	cl, _, err := e.D.Reconciler.ClusterOf(ctx, dsID)
	if err != nil {
		b.Fatal(err)
	}
	var marker struct {
		Port      int    `json:"port"`
		SocketDir string `json:"socket_dir"`
	}
	raw, err := os.ReadFile(filepath.Join(cl.Master().Dir, "dbaasd-node.json"))
	if err != nil || json.Unmarshal(raw, &marker) != nil {
		b.Fatalf("node marker: %v", err)
	}
	run, err := proc.Default()
	if err != nil {
		b.Fatal(err)
	}
	bin := func(name string) string {
		p, err := proc.FindBinary(name, "/usr/lib/postgresql/*/bin")
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	dir := filepath.Join(e.DataDir, "baseline")
	tarDir, data := filepath.Join(dir, "tar"), filepath.Join(dir, "data")
	if err := run.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Run(ctx, bin("pg_basebackup"), "-h", marker.SocketDir, "-p", strconv.Itoa(marker.Port), "-U", "postgres",
		"-D", tarDir, "-Ft", "-X", "stream", "-c", "fast", "--no-manifest"); err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
	t0 := time.Now()
	if err := run.MkdirAll(data, 0o700); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Run(ctx, "tar", "-x", "-f", filepath.Join(tarDir, "base.tar"), "-C", data); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Run(ctx, "tar", "-x", "-f", filepath.Join(tarDir, "pg_wal.tar"), "-C", filepath.Join(data, "pg_wal")); err != nil {
		b.Fatal(err)
	}
	extract = time.Since(t0)
	port, sock := marker.Port+7, filepath.Join(dir, "s")
	if err := run.MkdirAll(sock, 0o700); err != nil {
		b.Fatal(err)
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = ''\nunix_socket_directories = '%s'\narchive_mode = off\nlogging_collector = off\n", port, sock)
	if err := os.WriteFile(filepath.Join(data, "conf.d", "dbaasd.conf"), []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := run.Chown(filepath.Join(data, "conf.d", "dbaasd.conf")); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Run(ctx, bin("pg_ctl"), "start", "-w", "-D", data, "-l", filepath.Join(dir, "log")); err != nil {
		b.Fatal(err)
	}
	start = time.Since(t0)
	if _, err := run.Run(ctx, bin("pg_ctl"), "stop", "-m", "immediate", "-D", data); err != nil {
		b.Fatal(err)
	}
	return extract, start
}
