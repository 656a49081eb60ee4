package barestart

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	_ "github.com/go-sql-driver/mysql" // "mysql" database/sql driver

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// startMariaDB runs mariadb-install-db with the options of dbaasd's
// template and starts mariadbd, until root can ping it over its socket.
func startMariaDB(ctx context.Context, o Options) (*Server, error) {
	return startMariaDBNode(ctx, o, mariadbNode{})
}

// mariadbNode is what a server started by startMariaDBNode has besides a
// plain server's options.
type mariadbNode struct {
	// port is its client port (0: a free one).
	port int
	// args are more server options.
	args []string
	// prepare, when set, changes the data directory once the template is
	// copied into it.
	prepare func(data string) error
	// ready, when set, must also succeed before the server counts as
	// started.
	ready func(ctx context.Context, db *sql.DB) error
}

// startMariaDBNode starts mariadbd as startMariaDB does, with what nd adds.
func startMariaDBNode(ctx context.Context, o Options, nd mariadbNode) (*Server, error) {
	installDB, err := proc.FindBinary("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := proc.FindBinary("mariadbd")
	if err != nil {
		return nil, err
	}
	r := o.Runner
	data := filepath.Join(o.Dir, "data")
	innodb := []string{"--innodb-log-file-size=32M", "--innodb-buffer-pool-size=32M"}
	if o.Template != "" {
		// As dbaasd starts a node: a copy of its template, with the
		// binary log and sizes of its configuration.
		if err := r.CopyTree(o.Template, data); err != nil {
			return nil, fmt.Errorf("bare mariadb: %w", err)
		}
		if nd.prepare != nil {
			if err := nd.prepare(data); err != nil {
				return nil, fmt.Errorf("bare mariadb: %w", err)
			}
		}
		innodb = []string{"--innodb-log-file-size=32M", "--innodb-buffer-pool-size=128M", "--log-bin=binlog",
			"--binlog-format=ROW", "--server-id=1", "--performance-schema=OFF", "--tmpdir=" + o.Dir}
	} else {
		args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
			"--skip-test-db", "--skip-name-resolve"}, innodb...)
		cmd := r.Command(ctx, installDB, args...)
		cmd.Dir = o.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("bare mariadb: mariadb-install-db: %w: %s", err, out)
		}
	}
	port := nd.port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	sock := filepath.Join(o.Dir, "mysqld.sock")
	logPath := filepath.Join(o.Dir, "mariadbd.log")
	pid, err := r.StartDaemon(mariadbd, append([]string{"--no-defaults", "--datadir=" + data, "--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--socket=" + sock, "--pid-file=" + filepath.Join(o.Dir, "mariadbd.pid"),
		"--skip-name-resolve", "--log-error=" + logPath}, append(innodb, nd.args...)...), o.Dir, filepath.Join(o.Dir, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("bare mariadb: %w", err)
	}
	s := &Server{Engine: "mariadb", Dir: o.Dir, Port: port, PID: pid, stop: terminate(pid)}
	db, err := sql.Open("mysql", "root@unix("+sock+")/?timeout=2s")
	if err != nil {
		_ = s.Stop(ctx)
		return nil, err
	}
	defer func() { _ = db.Close() }()
	err = poll(ctx, 2*time.Minute, "bare mariadbd", func(ctx context.Context) error {
		if !proc.Alive(pid) {
			return fmt.Errorf("mariadbd exited: %s", logTail(logPath))
		}
		if err := db.PingContext(ctx); err != nil || nd.ready == nil {
			return err
		}
		return nd.ready(ctx, db)
	})
	if err != nil {
		_ = s.Stop(ctx)
		return nil, err
	}
	return s, nil
}
