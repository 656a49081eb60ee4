package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

const (
	// poolerAuthRole is the role older dbaasd let PgBouncer look users up
	// with; it stays reserved.
	poolerAuthRole = "dbaasd_pgbouncer"
	// poolerAdminUser is the PgBouncer console user dbaasd uses (over the
	// pooler's private Unix socket only).
	poolerAdminUser = "dbaasd_admin"
)

// poolerPaths are the pooler's files, all in <c.Dir>/pooler.
type poolerPaths struct {
	dir, ini, hba, users, pid, log, socketDir string
}

func poolerPathsOf(c *engine.Cluster) poolerPaths {
	dir := filepath.Join(c.Dir, "pooler")
	return poolerPaths{
		dir:       dir,
		ini:       filepath.Join(dir, "pgbouncer.ini"),
		hba:       filepath.Join(dir, "hba.conf"),
		users:     filepath.Join(dir, "users.txt"),
		pid:       filepath.Join(dir, "pgbouncer.pid"),
		log:       filepath.Join(dir, "pgbouncer.log"),
		socketDir: poolerSocketDir(c),
	}
}

// poolerSocketDir is the pooler's runtime directory: RunDir/pooler, or
// the pooler's own directory's run/ without a runtime directory.
func poolerSocketDir(c *engine.Cluster) string {
	if c.RunDir != "" {
		return filepath.Join(c.RunDir, "pooler")
	}
	return filepath.Join(c.Dir, "pooler", "run")
}

// poolerRestartKeys are the settings PgBouncer only reads at start.
var poolerRestartKeys = []string{"listen_addr", "listen_port", "unix_socket_dir", "pidfile"}

// ensurePooler runs, reconfigures or stops the cluster's PgBouncer: it
// listens on the pooler's address, sends clients to the primary over its
// Unix socket, authenticates them with SCRAM against the primary's users
// (auth_query through a lookup function) and applies the cluster's
// firewall (auth_hba_file).
func (d *Driver) ensurePooler(ctx context.Context, e *env, c *engine.Cluster) error {
	if c.Pooler == nil {
		if err := d.stopPooler(ctx, e, c); err != nil {
			return err
		}
		return removePoolerFiles(e, c)
	}
	pl := c.Pooler
	switch {
	case pl.Mode != "session" && pl.Mode != "transaction" && pl.Mode != "statement":
		return fmt.Errorf("%w: pooler mode %q is not session, transaction or statement", engine.ErrInvalid, pl.Mode)
	case pl.Size <= 0:
		return fmt.Errorf("%w: pooler size must be positive, not %d", engine.ErrInvalid, pl.Size)
	case pl.Port <= 0 || pl.Port > 65535:
		return fmt.Errorf("%w: pooler port %d is not valid", engine.ErrInvalid, pl.Port)
	}
	bin, err := proc.FindBinary("pgbouncer")
	if err != nil {
		return fmt.Errorf("pooler: %w", err)
	}
	pp := poolerPathsOf(c)
	if err := e.r.MkdirAll(pp.dir, 0o750); err != nil {
		return err
	}
	if err := ensureSocketDir(e.r, pp.socketDir); err != nil {
		return fmt.Errorf("pooler: %w", err)
	}
	primary, err := primaryPaths(c)
	if err != nil {
		return err
	}
	hba, err := renderPoolerHBA(c.Firewall)
	if err != nil {
		return err
	}
	users, err := poolerUsersFile(ctx, c, pp, e.r)
	if err != nil {
		return err
	}
	oldIni, _ := os.ReadFile(pp.ini)
	ini := renderPoolerIni(pl, pp, primary)
	changed := false
	for _, f := range []struct {
		path string
		data []byte
	}{{pp.hba, []byte(hba)}, {pp.users, users}, {pp.ini, []byte(ini)}} {
		ch, err := e.r.WriteFile(f.path, f.data, 0o600)
		if err != nil {
			return err
		}
		changed = changed || ch
	}

	dm := poolerDaemon(e.r, pp)
	pid := dm.Running()
	if pid != 0 && restartNeeded(string(oldIni), ini) {
		d.log.Info("restarting pooler", "datastore_id", c.ID)
		if err := dm.StopProcess(ctx, pid); err != nil {
			return fmt.Errorf("pooler: %w", err)
		}
		pid = 0
	}
	if pid == 0 {
		return d.startPooler(ctx, e, c, bin, pp)
	}
	if changed {
		d.log.Info("reloading pooler", "datastore_id", c.ID)
		if err := poolerAdmin(ctx, c, pp, "RELOAD"); err != nil {
			d.log.Warn("pooler console RELOAD failed; sending SIGHUP", "datastore_id", c.ID, "error", err)
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return fmt.Errorf("pooler: reload: %w", err)
			}
		}
	}
	return nil
}

// poolerDaemon describes the cluster's PgBouncer. Its pid file is the
// cluster account's: the process must be that account's too.
func poolerDaemon(r *proc.Runner, pp poolerPaths) *proc.Daemon {
	return &proc.Daemon{
		Name:      "pooler: pgbouncer",
		Runner:    r,
		Args:      []string{pp.ini},
		Dir:       pp.dir,
		Log:       pp.log,
		PidFile:   pp.pid,
		Recognise: func(_ int, argv []string) bool { return filepath.Base(argv[0]) == "pgbouncer" },
		StopGrace: 10 * time.Second,
	}
}

// startPooler starts PgBouncer as a daemon and waits until its console
// answers; one that does not in time is stopped.
func (d *Driver) startPooler(ctx context.Context, e *env, c *engine.Cluster, bin string, pp poolerPaths) error {
	d.log.Info("starting pooler", "datastore_id", c.ID, "host", c.Pooler.Host, "port", c.Pooler.Port, "mode", c.Pooler.Mode)
	dm := poolerDaemon(e.r, pp)
	dm.Command = bin
	// PgBouncer writes its pid file itself; dbaasd makes sure it names
	// the process once it answers.
	dm.WritePid = true
	dm.Ready = func(ctx context.Context, _ int) error { return poolerAdmin(ctx, c, pp, "SHOW VERSION") }
	dm.ReadyTimeout = 15 * time.Second
	dm.StopUnready = true
	_, err := dm.Start(ctx)
	return err
}

// stopPooler stops the cluster's PgBouncer, if it runs.
func (d *Driver) stopPooler(ctx context.Context, e *env, c *engine.Cluster) error {
	if c.Dir == "" {
		return nil
	}
	pid, err := poolerDaemon(e.r, poolerPathsOf(c)).Stop(ctx)
	if pid != 0 {
		d.log.Info("stopped pooler", "datastore_id", c.ID, "pid", pid)
	}
	return err
}

// removePoolerFiles removes the pooler's directory and socket directory.
func removePoolerFiles(e *env, c *engine.Cluster) error {
	if c.Dir == "" {
		return nil
	}
	pp := poolerPathsOf(c)
	for _, dir := range []string{pp.socketDir, pp.dir} {
		if err := e.r.RemoveAll(dir); err != nil {
			return fmt.Errorf("pooler: %w", err)
		}
	}
	return nil
}

// poolerPID is the PID of the cluster's running PgBouncer, or 0.
func poolerPID(r *proc.Runner, pp poolerPaths) int { return poolerDaemon(r, pp).Running() }

// poolerAdmin runs a command on the PgBouncer console over its Unix socket.
func poolerAdmin(ctx context.Context, c *engine.Cluster, pp poolerPaths, command string) error {
	conn, err := poolerConsole(ctx, c, pp)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, command); err != nil {
		return fmt.Errorf("pooler console %s: %w", command, err)
	}
	return nil
}

// poolerConsole connects to the PgBouncer console as dbaasd's console user.
func poolerConsole(ctx context.Context, c *engine.Cluster, pp poolerPaths) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host = pp.socketDir
	cfg.Port = uint16(c.Pooler.Port)
	cfg.User = poolerAdminUser
	cfg.Password = ""
	cfg.Database = "pgbouncer"
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = 2 * time.Second
	cfg.RuntimeParams = map[string]string{}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}
