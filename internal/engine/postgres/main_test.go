package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// templateDir is shared by every driver in the tests, as in production.
var templateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dbaasd-pgtmpl-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = os.Chmod(dir, 0o755)
	templateDir = dir
	code := m.Run()
	destroyShared()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func testLogger() *slog.Logger {
	if os.Getenv("DBAASD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// needsEngine skips a test that starts PostgreSQL servers under -short.
func needsEngine(t testing.TB) {
	t.Helper()
	enginetest.NeedsEngine(t, "PostgreSQL servers")
}

func newDriver(t testing.TB) *Driver {
	t.Helper()
	needsEngine(t)
	return New(Options{TemplateDir: templateDir, Logger: testLogger()})
}

// newCluster returns an ensured cluster of n nodes, destroyed when the test ends.
func newCluster(t *testing.T, d *Driver, n int, tweak ...func(*engine.Cluster)) *engine.Cluster {
	t.Helper()
	c := enginetest.NewCluster(t, engine.PostgreSQL, n)
	for _, f := range tweak {
		f(c)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	if err := d.Ensure(enginetest.Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return c
}

var (
	sharedOnce    sync.Once
	sharedDriver  *Driver
	sharedC       *engine.Cluster
	sharedErr     error
	sharedCleanup func()
)

// shared returns a 1-node cluster shared by tests whose objects do not
// interfere (users, databases, extensions, slots with distinct names).
func shared(t *testing.T) (*Driver, *engine.Cluster) {
	t.Helper()
	needsEngine(t)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dbaasd-t")
		if err != nil {
			sharedErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		sharedDriver = New(Options{TemplateDir: templateDir, Logger: testLogger()})
		c := &engine.Cluster{ID: uuid.NewString(), Engine: engine.PostgreSQL, Dir: dir,
			Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Config: map[string]any{}}
		c.Nodes = []engine.Node{{ID: "shared-node-0000", Role: engine.RoleMaster, Host: "127.0.0.1",
			Port: freeTestPort(), Dir: dir + "/nodes/shared"}}
		sharedC = c
		sharedCleanup = func() { _ = sharedDriver.Destroy(context.Background(), c); _ = os.RemoveAll(dir) }
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sharedErr = sharedDriver.Ensure(ctx, c)
	})
	if sharedErr != nil {
		t.Fatalf("shared cluster: %v", sharedErr)
	}
	return sharedDriver, sharedC
}

func destroyShared() {
	if sharedCleanup != nil {
		sharedCleanup()
	}
}

func freeTestPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// clientConn connects over TCP as a client would, with a password;
// localAddr, when set, is the address the connection comes from.
func clientConn(ctx context.Context, host string, port int, user, password, database, localAddr string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = host, uint16(port), user, password, database
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.ConnectTimeout = 5 * time.Second
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if localAddr != "" {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localAddr)}, Timeout: 5 * time.Second}
		cfg.DialFunc = dialer.DialContext
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// superConn connects as the superuser over a node's Unix socket, as dbaasd
// does, but with public in the search_path (tests create tables with it).
func superConn(t *testing.T, n *engine.Node, database string) *pgx.Conn {
	t.Helper()
	conn, err := connect(enginetest.Ctx(t), pathsOf(n), database)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(enginetest.Ctx(t), "SET search_path TO public, pg_catalog"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// queryString runs a query returning one text value.
func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(enginetest.Ctx(t), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

// clusterRunner is the runner of a cluster's own OS account.
func clusterRunner(t *testing.T, d *Driver, c *engine.Cluster) *proc.Runner {
	t.Helper()
	r, err := d.runner.ForCluster(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
