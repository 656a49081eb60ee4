// Package pgtest gives tests a real PostgreSQL server: the one named by the
// environment variable DBAAS_TEST_POSTGRES_URL when set (CI starts one),
// otherwise a throwaway server started from the installed PostgreSQL
// binaries for the duration of the test binary. Each caller gets a fresh
// database of its own, so tests can run in parallel.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// EnvURL is the variable naming an existing server to use.
const EnvURL = "DBAAS_TEST_POSTGRES_URL"

var (
	mu      sync.Mutex
	baseURL string
	stop    func()
)

// Main runs the tests of a package and stops the throwaway server, if one
// was started, afterwards. Use it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if stop != nil {
		stop()
	}
	return code
}

// URL returns the URL of a new, empty database on a real PostgreSQL server.
// Under -short it skips the test unless EnvURL names a server: the short
// tests start no engine.
func URL(t testing.TB) string {
	t.Helper()
	if testing.Short() && os.Getenv(EnvURL) == "" {
		t.Skip("starts a PostgreSQL server (skipped with -short unless " + EnvURL + " names one)")
	}
	base, err := server()
	if err != nil {
		t.Fatalf("postgres for tests: %v", err)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	name := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			_ = db.Close()
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

func server() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if baseURL != "" {
		return baseURL, nil
	}
	if u := os.Getenv(EnvURL); u != "" {
		baseURL = u
		return u, nil
	}
	u, s, err := start()
	if err != nil {
		return "", err
	}
	baseURL, stop = u, s
	return u, nil
}

func start() (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := proc.Default()
	if err != nil {
		return "", nil, err
	}
	initdb, err := proc.FindBinary("initdb", "/usr/lib/postgresql/*/bin")
	if err != nil {
		return "", nil, err
	}
	pgctl := filepath.Join(filepath.Dir(initdb), "pg_ctl")
	dir, err := os.MkdirTemp("", "dbaasd-pgtest")
	if err != nil {
		return "", nil, err
	}
	if err := r.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	data := filepath.Join(dir, "data")
	if _, err := r.Run(ctx, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off -c max_connections=300 -c synchronous_commit=off", port, dir)
	if _, err := r.Run(ctx, pgctl, "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		return "", nil, err
	}
	stopFn := func() {
		sctx, c := context.WithTimeout(context.Background(), 30*time.Second)
		defer c()
		_, _ = r.Run(sctx, pgctl, "stop", "-m", "immediate", "-D", data)
		_ = os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stopFn, nil
}

// QueryOne runs a query that returns one value and fails t otherwise.
func QueryOne[T any](t testing.TB, c *pgx.Conn, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}
