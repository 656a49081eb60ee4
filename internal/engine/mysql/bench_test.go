package mysql

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// benchCluster is a one-node cluster under a fresh directory.
func benchCluster(b *testing.B, eng string) *engine.Cluster {
	b.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-b")
	if err != nil {
		b.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	id := uuid.NewString()
	return &engine.Cluster{
		ID: uuid.NewString(), Engine: eng, Dir: dir,
		Flavor:        engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5},
		AdminPassword: "bench-" + id[:8],
		Nodes: []engine.Node{{ID: id, Role: engine.RoleMaster, Host: "127.0.0.1", Port: port,
			Dir: filepath.Join(dir, "nodes", id[:8])}},
	}
}

// BenchmarkEnsureOneNode measures creating a one-node cluster with the
// driver: copy of the template, my.cnf, start, admin password, replication
// account. Compare with BenchmarkBareInstallAndStart.
func BenchmarkEnsureOneNode(b *testing.B) {
	d := newTestDriver(b, ModeNative)
	if err := d.ensureTemplate(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		c := benchCluster(b, d.Name())
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
