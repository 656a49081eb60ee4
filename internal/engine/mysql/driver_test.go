package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// testTemplateDir is shared by every driver of the test binary, so the
// template is built once.
var testTemplateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dbaasd-mytpl-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = os.Chmod(dir, 0o755)
	testTemplateDir = filepath.Join(dir, "template")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// needMariaDB skips tests that need the engine under -short and when it
// is not installed.
func needMariaDB(t testing.TB) {
	t.Helper()
	enginetest.NeedsEngine(t, "MariaDB servers")
	if _, err := proc.FindBinary("mariadbd"); err != nil {
		t.Skip("mariadbd is not installed (scripts/install-deps.sh)")
	}
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func newTestDriver(t testing.TB, mode string) *Driver {
	t.Helper()
	needMariaDB(t)
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testLogWriter{t}, nil))
	}
	return New(Options{Mode: mode, TemplateDir: testTemplateDir, Logger: logger})
}

// newTestCluster returns an ensured cluster of n nodes, destroyed after
// the test.
func newTestCluster(t *testing.T, d *Driver, n int, prepare ...func(c *engine.Cluster)) *engine.Cluster {
	t.Helper()
	c := enginetest.NewCluster(t, d.Name(), n)
	for _, p := range prepare {
		p(c)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	ensure(t, d, c)
	return c
}

func ensure(t *testing.T, d *Driver, c *engine.Cluster) {
	t.Helper()
	start := time.Now()
	enginetest.GivePorts(t, d, c)
	if err := d.Ensure(enginetest.Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	t.Logf("Ensure of %d node(s) took %v", len(c.Nodes), time.Since(start).Round(time.Millisecond))
}

// adminDB connects to a node's socket as the admin user.
func adminDB(t *testing.T, c *engine.Cluster, n engine.Node) *sql.DB {
	t.Helper()
	db := openSocket(newNode(nil, n).socket(), c.AdminPassword, 5*time.Second)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// tcpDB connects to a node over TCP as an API user; network selects a
// dialer registered with gomysql.RegisterDialContext ("tcp" = default).
func tcpDB(t *testing.T, network string, n engine.Node, user, password, dbname string) *sql.DB {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = user, password, dbname
	cfg.Net = network
	cfg.Addr = net.JoinHostPort(n.Host, fmt.Sprint(n.Port))
	cfg.Timeout = 5 * time.Second
	cfg.Logger = &gomysql.NopLogger{}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustQuery(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	v, err := queryString(context.Background(), db, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func mustStatus(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	v, err := statusVar(context.Background(), db, name)
	if err != nil {
		t.Fatalf("status %s: %v", name, err)
	}
	return v
}

func conformance(t *testing.T, mode, eng string) {
	d := newTestDriver(t, mode)
	enginetest.Run(t, enginetest.Options{
		Engine:   eng,
		New:      func(t *testing.T) engine.Driver { return newTestDriver(t, mode) },
		MaxNodes: 3,
		PIDs:     d.PIDs,
	})
}

func TestConformanceNative(t *testing.T) { conformance(t, ModeNative, engine.MySQLNative) }

func TestConformanceSync(t *testing.T) { conformance(t, ModeSync, engine.MySQL) }

func TestNewReportsEngineName(t *testing.T) {
	for mode, want := range map[string]string{ModeNative: engine.MySQLNative, ModeSync: engine.MySQL, "bogus": ""} {
		d := New(Options{Mode: mode, TemplateDir: t.TempDir()})
		if d.Name() != want {
			t.Errorf("mode %s: Name = %q, want %q", mode, d.Name(), want)
		}
	}
	if err := New(Options{Mode: "bogus", TemplateDir: "x"}).Ensure(context.Background(), &engine.Cluster{}); err == nil {
		t.Error("a driver with an unknown mode ensured a cluster")
	}
}

// eventually retries f until it succeeds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectRow waits until a node has the row id=v in app.t.
func expectRow(t *testing.T, db *sql.DB, id int, want string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		got, err := queryString(context.Background(), db, "SELECT v FROM app.t WHERE id = ?", id)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("row %d = %q, want %q", id, got, want)
		}
		return nil
	})
}

// statusVar reads one global status variable ("" when absent).
func statusVar(ctx context.Context, db *sql.DB, name string) (string, error) {
	var n, v string
	err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE "+quoteString(name)).Scan(&n, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}
