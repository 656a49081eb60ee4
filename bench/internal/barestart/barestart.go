// Package barestart starts each engine by hand, the way a person would
// without dbaasd, to give the provisioning benchmark its baselines:
//
//   - PostgreSQL: initdb (with the options of dbaasd's template) and
//     pg_ctl start -w;
//   - MariaDB: mariadb-install-db and mariadbd, until it answers a ping;
//   - Redis: redis-server, until it answers PING;
//   - Kafka: `dbaasd kafka-broker` on a hand-written minimal configuration,
//     until the superuser gets a metadata answer (as the Kafka driver's own
//     BenchmarkBareKfakeStart does).
//
// Servers run as the engines' OS user (proc.Runner: the unprivileged
// dbaasd user when the harness runs as root), in sessions of their own.
package barestart

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Server is a running bare engine server.
type Server struct {
	Engine string
	Dir    string
	Port   int
	// PID is the main process (its descendants belong to it).
	PID  int
	stop func(ctx context.Context) error
}

// Stop stops the server.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil || s.stop == nil {
		return nil
	}
	return s.stop(ctx)
}

// Options are common to all engines.
type Options struct {
	Runner *proc.Runner
	// Dir is a new directory for the server's files (created here).
	Dir string
	// DbaasdBin is bin/dbaasd (for the Kafka broker).
	DbaasdBin string
	// PostgresOpts are extra "-c name=value" server options.
	PostgresOpts []string
	// Template, for PostgreSQL and MariaDB, is a data directory (dbaasd's
	// template) copied instead of running initdb or mariadb-install-db.
	Template string
}

// Start starts a bare server of an engine: "postgresql", "mariadb",
// "redis" or "kafka".
func Start(ctx context.Context, engine string, o Options) (*Server, error) {
	if err := o.Runner.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	switch engine {
	case "postgresql":
		return startPostgres(ctx, o)
	case "mariadb":
		return startMariaDB(ctx, o)
	case "redis":
		return startRedis(ctx, o)
	case "kafka":
		return startKafka(ctx, o)
	}
	return nil, fmt.Errorf("bare start: unknown engine %q", engine)
}

// StartAtOnce starts n servers of an engine at the same time, each in a
// directory of its own under o.Dir, and returns them with the time until
// the last one answered. On error, the servers that started are stopped.
// Engine "galera" starts n > 1 MariaDB servers as the nodes of one new
// Galera cluster (until all are synced, see startGalera) and one as a
// plain MariaDB server (a 1-node Galera datastore of dbaasd's is one).
func StartAtOnce(ctx context.Context, engine string, n int, o Options) ([]*Server, time.Duration, error) {
	start := func(ctx context.Context, _ int, o Options) (*Server, error) { return Start(ctx, engine, o) }
	if engine == "galera" {
		if n == 1 {
			engine = "mariadb"
		} else {
			g, err := newGalera(n, o)
			if err != nil {
				return nil, 0, err
			}
			start = g.start
		}
	}
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	t := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			oi := o
			oi.Dir = filepath.Join(o.Dir, strconv.Itoa(i))
			servers[i], errs[i] = start(ctx, i, oi)
		}()
	}
	wg.Wait()
	took := time.Since(t)
	if err := errors.Join(errs...); err != nil {
		for _, s := range servers {
			_ = s.Stop(context.WithoutCancel(ctx))
		}
		return nil, 0, err
	}
	return servers, took, nil
}

// freePort returns a TCP port on 127.0.0.1 that is free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// poll calls try every 10 ms until it succeeds or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, try func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	for {
		if err = try(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer within %s: %w", what, timeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// terminate stops a process (SIGTERM, then SIGKILL after grace).
func terminate(pid int) func(context.Context) error {
	return func(context.Context) error {
		proc.Terminate(pid, 30*time.Second)
		return nil
	}
}

// logTail returns the end of a log file, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return string(b)
}
