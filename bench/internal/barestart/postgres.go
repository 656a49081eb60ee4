package barestart

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// startPostgres runs initdb with the options of dbaasd's template and
// pg_ctl start -w (which returns once the server accepts connections).
func startPostgres(ctx context.Context, o Options) (*Server, error) {
	initdb, err := proc.FindBinary("initdb", "/usr/lib/postgresql/*/bin")
	if err != nil {
		return nil, err
	}
	pgctl := filepath.Join(filepath.Dir(initdb), "pg_ctl")
	data := filepath.Join(o.Dir, "data")
	r := o.Runner
	if o.Template != "" {
		if err := r.CopyTree(o.Template, data); err != nil {
			return nil, fmt.Errorf("bare postgresql: %w", err)
		}
	} else if _, err := r.Run(ctx, initdb, "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--data-checksums"); err != nil {
		return nil, fmt.Errorf("bare postgresql: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	opts := []string{"-c listen_addresses=127.0.0.1", "-c port=" + strconv.Itoa(port), "-c unix_socket_directories=" + o.Dir}
	for _, x := range o.PostgresOpts {
		opts = append(opts, "-c "+x)
	}
	logPath := filepath.Join(o.Dir, "log")
	if _, err := r.Run(ctx, pgctl, "start", "-w", "-t", "120", "-D", data, "-l", logPath, "-o", strings.Join(opts, " ")); err != nil {
		return nil, fmt.Errorf("bare postgresql: %w: %s", err, logTail(logPath))
	}
	s := &Server{Engine: "postgresql", Dir: o.Dir, Port: port, PID: proc.ReadPidFile(filepath.Join(data, "postmaster.pid"))}
	s.stop = func(ctx context.Context) error {
		if _, err := r.Run(ctx, pgctl, "stop", "-m", "fast", "-w", "-D", data); err != nil {
			proc.Terminate(s.PID, 0)
			return fmt.Errorf("stop bare postgresql: %w", err)
		}
		// pg_ctl stop -w returns once the pid file is gone, a moment
		// before the postmaster has exited: Stop returns once it has, as
		// for the other engines.
		proc.Terminate(s.PID, 10*time.Second)
		return nil
	}
	return s, nil
}

// PostgresURL is the URL of the bare server's postgres database (trust
// authentication over the unix socket in its directory).
func PostgresURL(s *Server) string {
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", s.Dir, s.Port)
}
