package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// templateConf replaces initdb's postgresql.conf in the template: every
// setting lives in conf.d/dbaasd.conf, which dbaasd owns and rewrites.
const templateConf = `# Managed by dbaasd. Every setting lives in conf.d/dbaasd.conf, which dbaasd
# rewrites from the cluster's flavor, configuration and nodes; do not edit.
# ALTER SYSTEM (postgresql.auto.conf) still overrides it.
include_dir = 'conf.d'
`

// templateLayout names the layout of the prepared templates: templates of
// older layouts (directories without it) are left alone and a new one is
// prepared beside them. Layout 2 records the lowest hot-standby parameters
// in pg_control (see lowerControlParams).
const templateLayout = "2"

// templateData returns the data directory of the prepared template for an
// installed version, running initdb once if needed. Preparation is guarded
// against concurrent callers in this process (mutex) and in others (an
// flock on TemplateDir/.lock), and atomic: initdb runs in a temporary
// directory that is renamed into place when complete.
func (d *Driver) templateData(ctx context.Context, e *env) (string, error) {
	if d.opts.TemplateDir == "" {
		return "", fmt.Errorf("postgresql: no template directory configured")
	}
	dir := filepath.Join(d.opts.TemplateDir, "postgresql-"+e.inst.full+"-"+templateLayout)
	data := filepath.Join(dir, "data")
	if exists(filepath.Join(data, "PG_VERSION")) {
		return data, nil
	}

	d.templateMu.Lock()
	defer d.templateMu.Unlock()
	if err := e.base.MkdirAll(d.opts.TemplateDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(d.opts.TemplateDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if exists(filepath.Join(data, "PG_VERSION")) {
		return data, nil
	}

	// Leftovers of preparations that crashed: nobody else builds while we
	// hold the lock.
	if old, _ := filepath.Glob(filepath.Join(d.opts.TemplateDir, ".build-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	build, err := os.MkdirTemp(d.opts.TemplateDir, ".build-")
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	defer func() { _ = os.RemoveAll(build) }()
	if err := e.base.MkdirAll(build, 0o755); err != nil {
		return "", err
	}
	d.log.Info("preparing initdb template", "version", e.inst.full, "dir", dir)
	bdata := filepath.Join(build, "data")
	if _, err := e.base.Run(ctx, e.inst.bin("initdb"), initdbArgs(bdata)...); err != nil {
		return "", fmt.Errorf("postgresql template: %w", err)
	}
	if err := lowerControlParams(ctx, e, bdata); err != nil {
		return "", fmt.Errorf("postgresql template: %w", err)
	}
	if _, err := e.base.WriteFile(filepath.Join(bdata, "postgresql.conf"), []byte(templateConf), 0o600); err != nil {
		return "", err
	}
	if err := e.base.MkdirAll(filepath.Join(bdata, "conf.d"), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(build, dir); err != nil {
		return "", fmt.Errorf("postgresql template: %w", err)
	}
	return data, nil
}

// lowerControlParams runs the new template once in single-user mode with
// the lowest values of the parameters a hot standby must have at least as
// high as its primary, so that pg_control records those. Every copy of the
// template can then start as a standby whatever its flavor and
// configuration: the copy of a new cluster's replicas checks its settings
// against pg_control before the primary's own values (a WAL record the
// primary writes when it first starts) reach it. initdb records its own
// choices (max_connections = 100 and more), above what small flavors get.
func lowerControlParams(ctx context.Context, e *env, data string) error {
	args := []string{"--single", "-D", data,
		"-c", "max_connections=1", "-c", "superuser_reserved_connections=0",
		"-c", "max_worker_processes=0", "-c", "max_wal_senders=0",
		"-c", "max_prepared_transactions=0", "-c", "max_locks_per_transaction=10",
		"-c", "autovacuum=off", "postgres"}
	if _, err := e.base.Run(ctx, e.inst.bin("postgres"), args...); err != nil {
		return fmt.Errorf("record the lowest standby parameters: %w", err)
	}
	return nil
}

// initdbArgs are the arguments of initdb for a new data directory.
func initdbArgs(data string) []string {
	return []string{"-D", data, "-U", superuser, "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--data-checksums"}
}

// hasData reports whether a node has a complete data directory.
func hasData(p nodePaths) bool {
	// A stat, not a read: Observe asks for every node every round.
	st, err := os.Stat(filepath.Join(p.data, "PG_VERSION"))
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}
