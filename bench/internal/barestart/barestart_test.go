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
			// pg_ctl stop -w returns once the pid file is gone, a moment
			// before the server process has exited.
			for deadline := time.Now().Add(10 * time.Second); proc.Alive(s.PID) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if proc.Alive(s.PID) {
				t.Errorf("pid %d still alive 10 s after Stop", s.PID)
			}
		})
	}
}
