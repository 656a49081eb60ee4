package mysql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// BenchmarkEnsureOneNode measures creating a one-node cluster with the
// driver: copy of the template, my.cnf, start, admin password, replication
// account. Compare with BenchmarkBareInstallAndStart.
func BenchmarkEnsureOneNode(b *testing.B) { benchmarkEnsure(b, ModeNative, 1) }

// BenchmarkEnsureThreeNodes measures creating a semi-synchronous primary
// and two replicas; beside BenchmarkEnsureOneNode it gives what the
// replicas cost.
func BenchmarkEnsureThreeNodes(b *testing.B) { benchmarkEnsure(b, ModeNative, 3) }

// BenchmarkEnsureGaleraThreeNodes measures creating a three-node Galera
// cluster (every node from the template, at once).
func BenchmarkEnsureGaleraThreeNodes(b *testing.B) { benchmarkEnsure(b, ModeSync, 3) }

func benchmarkEnsure(b *testing.B, mode string, nodes int) {
	d := newTestDriver(b, mode)
	if err := d.ensureTemplate(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		c := enginetest.NewCluster(b, d.Name(), nodes)
		enginetest.GivePorts(b, d, c)
		b.StartTimer()
		if err := d.Ensure(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.Destroy(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkBareInstallAndStart measures what a driver without a template
// would do: mariadb-install-db, then mariadbd until it answers.
func BenchmarkBareInstallAndStart(b *testing.B) {
	needMariaDB(b)
	r, err := proc.Default()
	if err != nil {
		b.Fatal(err)
	}
	installDB, _ := proc.FindBinary("mariadb-install-db")
	mariadbd, _ := proc.FindBinary("mariadbd")
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "dbaasd-bare")
		if err != nil {
			b.Fatal(err)
		}
		if err := r.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		data := filepath.Join(dir, "data")
		if _, err := r.Run(context.Background(), installDB, "--no-defaults", "--datadir="+data,
			"--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=32M"); err != nil {
			b.Fatal(err)
		}
		sock := filepath.Join(dir, "s.sock")
		pid, err := r.StartDaemon(mariadbd, []string{"--no-defaults", "--datadir=" + data, "--socket=" + sock,
			"--skip-networking", "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=32M",
			"--performance-schema=OFF", "--log-error=" + filepath.Join(dir, "error.log")}, dir, filepath.Join(dir, "out.log"))
		if err != nil {
			b.Fatal(err)
		}
		db := openSocket(sock, "", time.Second)
		for start := time.Now(); db.Ping() != nil; time.Sleep(10 * time.Millisecond) {
			if time.Since(start) > time.Minute || !proc.Alive(pid) {
				b.Fatal(fmt.Errorf("bare mariadbd did not start"))
			}
		}
		_ = db.Close()
		b.StopTimer()
		proc.Terminate(pid, 30*time.Second)
		_ = os.RemoveAll(dir)
		b.StartTimer()
	}
}
