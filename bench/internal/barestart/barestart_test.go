package barestart

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// TestStart starts and stops each engine by hand. It needs the engines
// installed (make deps) and, for Kafka, bin/dbaasd (make build).
func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real engines")
	}
	r, err := proc.Default()
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp("", "dbaasd-bench-bare")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(root, 0o755)
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	bin, _ := filepath.Abs("../../../bin/dbaasd")
	for _, engine := range []string{"postgresql", "mariadb", "redis", "kafka"} {
		t.Run(engine, func(t *testing.T) {
			need := map[string]string{"postgresql": "initdb", "mariadb": "mariadbd", "redis": "redis-server"}[engine]
			if engine == "kafka" {
				if _, err := os.Stat(bin); err != nil {
					t.Skip("bin/dbaasd not built")
				}
			} else if _, err := proc.FindBinary(need, "/usr/lib/postgresql/*/bin"); err != nil {
				t.Skipf("%s not installed", engine)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			start := time.Now()
			s, err := Start(ctx, engine, Options{Runner: r, Dir: filepath.Join(root, engine), DbaasdBin: bin})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s ready in %s (pid %d, port %d)", engine, time.Since(start).Round(time.Millisecond), s.PID, s.Port)
			if !proc.Alive(s.PID) {
				t.Errorf("pid %d not alive", s.PID)
			}
			if err := s.Stop(ctx); err != nil {
				t.Error(err)
			}
			if proc.Alive(s.PID) {
				t.Errorf("pid %d still alive after Stop", s.PID)
			}
		})
	}
}

// TestStartAtOnce starts several servers of an engine together, for
// PostgreSQL and MariaDB on copies of a data directory made by a bare start
// (as dbaasd's template is), and checks each is its own live server.
func TestStartAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real engines")
	}
	r, err := proc.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		engine   string
		binary   string
		template bool
		n        int
	}{
		{"postgresql", "initdb", true, 2},
		{"mariadb", "mariadbd", true, 2},
		{"redis", "redis-server", false, 3},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			if _, err := proc.FindBinary(tc.binary, "/usr/lib/postgresql/*/bin"); err != nil {
				t.Skipf("%s not installed", tc.engine)
			}
			root, err := os.MkdirTemp("", "dbaasd-bench-once")
			if err != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(root, 0o755)
			t.Cleanup(func() { _ = os.RemoveAll(root) })
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			o := Options{Runner: r, Dir: filepath.Join(root, "many")}
			if tc.template {
				tpl := filepath.Join(root, "template")
				s, err := Start(ctx, tc.engine, Options{Runner: r, Dir: tpl})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				o.Template = filepath.Join(tpl, "data")
			}
			servers, took, err := StartAtOnce(ctx, tc.engine, tc.n, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				for _, s := range servers {
					_ = s.Stop(context.Background())
				}
			})
			if len(servers) != tc.n || took <= 0 {
				t.Fatalf("got %d servers in %s, want %d", len(servers), took, tc.n)
			}
			pids := map[int]bool{}
			for _, s := range servers {
				if !proc.Alive(s.PID) || pids[s.PID] {
					t.Errorf("server %+v: not a live server of its own", s)
				}
				pids[s.PID] = true
			}
		})
	}
}
