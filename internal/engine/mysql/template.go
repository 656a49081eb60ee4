package mysql

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// The template is an initialized data directory (mariadb-install-db) that
// new servers copy instead of initializing their own. Its only account that
// can log in is root@localhost, identified by unix_socket (only OS user root
// can use it, over a socket only the cluster's OS account and root reach),
// and each copy replaces even that with the cluster's admin password from an
// init file on its first start, before it accepts connections. No account
// without a password survives: not mysql@localhost (unix_socket), not
// anonymous ones. MariaDB's tools run with the admin password in an options
// file of the cluster's OS account (writeClientDefaults).
//
// Layout: <TemplateDir>/data, <TemplateDir>/VERSION (the mariadbd version
// that built it and templateFormat: another one rebuilds it) and
// <TemplateDir>/catalog.json (the cached parameter catalog).

// templateLogFileSize is the redo log size of the template (the smallest
// size a node uses, so a first start does not resize it).
const templateLogFileSize = 32 << 20

// templateFormat changes when what a template holds changes, so that
// templates built by an older dbaasd are built again.
const templateFormat = "2"

func (d *Driver) templateData() string { return filepath.Join(d.templateDir, "data") }

// templateVersion is the content of the template's VERSION file.
func templateVersion(version string) string { return version + " format " + templateFormat }

// templateReady reports whether the template exists for this version.
func (d *Driver) templateReady(version string) bool {
	b, err := os.ReadFile(filepath.Join(d.templateDir, "VERSION"))
	if err != nil || strings.TrimSpace(string(b)) != templateVersion(version) {
		return false
	}
	st, err := os.Stat(filepath.Join(d.templateData(), "mysql"))
	return err == nil && st.IsDir()
}

// ensureTemplate builds the template once: guarded by a mutex in this
// process and a file lock across processes; built in a temporary directory
// and renamed into place, so a crash never leaves half a template.
func (d *Driver) ensureTemplate(ctx context.Context) error {
	info, err := d.Info(ctx)
	if err != nil {
		return err
	}
	d.templateMu.Lock()
	defer d.templateMu.Unlock()
	if d.templateReady(info.Full) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(d.templateDir), 0o755); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	lock, err := os.OpenFile(d.templateDir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("template lock: %w", err)
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("template lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if d.templateReady(info.Full) {
		return nil
	}
	d.log.Info("building MariaDB template data directory", "dir", d.templateDir, "version", info.Full)
	if err := d.buildTemplate(ctx, info.Full); err != nil {
		return fmt.Errorf("build MariaDB template in %s: %w", d.templateDir, err)
	}
	return nil
}

func (d *Driver) buildTemplate(ctx context.Context, version string) error {
	installDB, err := proc.FindBinary("mariadb-install-db")
	if err != nil {
		return err
	}
	mariadbd, err := proc.FindBinary("mariadbd")
	if err != nil {
		return err
	}
	tmp := d.templateDir + ".build"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := d.runner.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := d.runner.CheckAccess(ctx, tmp); err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	// A private tmpdir: bootstraps running at once in a shared /tmp
	// collide on temporary table names and fail.
	tmpdir := filepath.Join(tmp, "tmp")
	if err := d.runner.MkdirAll(tmpdir, 0o700); err != nil {
		return err
	}
	innodb := []string{
		fmt.Sprintf("--innodb-log-file-size=%d", templateLogFileSize),
		"--innodb-buffer-pool-size=32M", "--tmpdir=" + tmpdir,
	}
	args := append([]string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"}, innodb...)
	if _, err := run(ctx, d.runner, tmp, nil, installDB, args...); err != nil {
		return err
	}
	// Keep only root@localhost (and mariadb.sys, which cannot log in).
	var sql strings.Builder
	sql.WriteString("FLUSH PRIVILEGES;\n")
	sql.WriteString("DELETE FROM mysql.global_priv WHERE (User = 'root' AND Host <> 'localhost') OR User NOT IN ('root', 'mariadb.sys');\n")
	sql.WriteString("DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost' OR User <> 'root';\n")
	sql.WriteString("DELETE FROM mysql.db WHERE User NOT IN ('root', 'mariadb.sys');\n")
	sql.WriteString("FLUSH PRIVILEGES;\n")
	bootArgs := append([]string{"--no-defaults", "--bootstrap", "--datadir=" + data,
		"--skip-log-bin", "--log-error=" + filepath.Join(tmp, "bootstrap.err")}, innodb...)
	if _, err := run(ctx, d.runner, tmp, strings.NewReader(sql.String()), mariadbd, bootArgs...); err != nil {
		b, _ := os.ReadFile(filepath.Join(tmp, "bootstrap.err"))
		return fmt.Errorf("%w: %s", err, tailLines(string(b), 5))
	}
	_ = os.Remove(filepath.Join(tmp, "bootstrap.err"))
	_ = os.RemoveAll(tmpdir)
	if _, err := d.runner.WriteFile(filepath.Join(tmp, "VERSION"), []byte(templateVersion(version)+"\n"), 0o600); err != nil {
		return err
	}
	old := d.templateDir + ".old"
	_ = os.RemoveAll(old)
	if _, err := os.Stat(d.templateDir); err == nil {
		if err := os.Rename(d.templateDir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, d.templateDir); err != nil {
		return err
	}
	_ = os.RemoveAll(old)
	return nil
}

// run runs a command as r's user in dir, with stdin, and returns its
// combined output; the error carries the output's end.
func run(ctx context.Context, r *proc.Runner, dir string, stdin *strings.Reader, name string, args ...string) ([]byte, error) {
	cmd := r.Command(ctx, name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return buf.Bytes(), fmt.Errorf("%s: %w: %s", filepath.Base(name), err, errorLines(buf.String(), 8))
	}
	return buf.Bytes(), nil
}

// errorLines keeps the lines of a command's output that report an error
// (the cause is often above a long footer), else its last n lines.
func errorLines(s string, n int) string {
	var errs []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "[Warning]") {
			errs = append(errs, strings.TrimSpace(l))
		}
	}
	if len(errs) == 0 {
		return tailLines(s, n)
	}
	if len(errs) > n {
		errs = errs[len(errs)-n:]
	}
	return strings.Join(errs, " | ")
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// seedFromTemplate gives a node a copy of the template data directory and
// an init file that sets the admin password on its first start (as a hash,
// not logged to the binary log).
func (d *Driver) seedFromTemplate(ctx context.Context, adminPassword string, n *node) error {
	tmp := n.dataDir() + ".tmp"
	if err := n.r.RemoveAll(tmp); err != nil {
		return err
	}
	if err := n.r.CopyTree(d.templateData(), tmp); err != nil {
		return fmt.Errorf("node %s: copy template: %w", n.ID, err)
	}
	init := "SET SESSION sql_log_bin = 0;\n" +
		"SET SESSION wsrep_on = OFF;\n" +
		"ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING " + quoteString(nativeHash(adminPassword)) + ";\n"
	if _, err := n.r.WriteFile(n.initFile(), []byte(init), 0o600); err != nil {
		return err
	}
	if err := n.r.RemoveAll(n.dataDir()); err != nil {
		return err
	}
	if err := n.r.Rename(tmp, n.dataDir()); err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	return nil
}
