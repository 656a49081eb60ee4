package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateConfig asks MariaDB itself. A scratch server starts on a private
// copy of the template (socket only, no networking, no binary log) with
// the tenant's variables in its option file, as a node reads them when it
// starts: a value it refuses, or with which it does not start (date_format
// = plain-ok), comes back in its own words. Then every changed variable
// that can change live is set with SET GLOBAL, as dbaasd applies it to a
// running node (optimizer_switch, ft_boolean_syntax, ...).
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	user, err := d.userVars(ctx, c.Config)
	if err != nil {
		return engine.Invalid(blameVar(err.Error(), changed), invalidMsg(err))
	}
	if err := d.ensureTemplate(ctx); err != nil {
		return err
	}
	bin, err := proc.FindBinary("mariadbd")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "dbaasd-mycheck-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := d.runner.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	if _, err := run(ctx, d.runner, dir, nil, "cp", "-a", d.templateData()+"/.", data); err != nil {
		return err
	}
	sock, errLog := filepath.Join(dir, "s.sock"), filepath.Join(dir, "error.log")
	scratch := map[string]string{
		"datadir": data, "socket": sock, "tmpdir": dir, "pid_file": filepath.Join(dir, "pid"), "log_error": errLog,
		"skip_networking": "ON", "skip_log_bin": "ON", "innodb_buffer_pool_size": "32M",
		"innodb_log_file_size": fmt.Sprint(templateLogFileSize), "performance_schema": "OFF",
	}
	var cnf strings.Builder
	cnf.WriteString("[mysqld]\n")
	for _, layer := range []map[string]string{scratch, user} {
		keys := make([]string, 0, len(layer))
		for k := range layer {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&cnf, "%s = %s\n", k, cnfValue(layer[k]))
		}
	}
	cnfPath := filepath.Join(dir, "my.cnf")
	if _, err := d.runner.WriteFile(cnfPath, []byte(cnf.String()), 0o600); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	db, stop, err := d.startScratch(sctx, "check configuration", bin, dir, sock, []string{"--defaults-file=" + cnfPath}, func(out string) error {
		b, _ := os.ReadFile(errLog)
		msgs := serverErrors(out + "\n" + string(b))
		if len(msgs) == 0 {
			return fmt.Errorf("check configuration: mariadbd exited: %s", tailLines(out+string(b), 5))
		}
		msg := strings.Join(msgs, "; ")
		return engine.Invalid(blameVar(msg, changed), "MariaDB does not start with it: "+msg)
	})
	if err != nil {
		return err
	}
	defer stop()
	return setEach(sctx, db, user, changed)
}

// setEach sets every changed variable that can change live, as applyConfig
// does on a running node.
func setEach(ctx context.Context, db *sql.DB, user map[string]string, changed []string) error {
	for _, k := range changed {
		name := strings.ReplaceAll(strings.ToLower(k), "-", "_")
		v, ok := user[name]
		if !ok {
			continue
		}
		dynamic, err := isDynamic(ctx, db, name)
		if err != nil {
			return fmt.Errorf("check configuration: %w", err)
		}
		if !dynamic {
			continue
		}
		if _, err := db.ExecContext(ctx, "SET GLOBAL "+name+" = "+sqlValue(v)); err != nil {
			if isServerError(err) {
				return engine.Invalid(k, err.Error())
			}
			return fmt.Errorf("check configuration: set %s: %w", name, err)
		}
	}
	return nil
}

// isServerError reports whether err is an error the server answered (as
// opposed to a lost connection).
func isServerError(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me)
}

// serverPrefix is what mariadbd writes before a logged message.
var serverPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d\s+\d+:\d\d:\d\d\s+\d+\s+`)

// serverErrors keeps the errors a server that would not start printed, in
// its words, without time stamps and the final "Aborting".
func serverErrors(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(serverPrefix.ReplaceAllString(strings.TrimSpace(l), ""))
		switch {
		case l == "", strings.HasPrefix(l, "[Note]"), strings.HasPrefix(l, "[Warning]"),
			strings.Contains(l, "Aborting"), strings.Contains(l, "InnoDB:"):
			continue
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "[ERROR]"))
		if i := strings.Index(l, "mariadbd: "); i >= 0 && i < 40 {
			l = l[i+len("mariadbd: "):]
		}
		out = append(out, l)
	}
	return out
}

// blameVar names the variable a message is about: the first changed one
// it mentions (with _ or -), else the only changed one.
func blameVar(msg string, changed []string) string {
	low := strings.ToLower(msg)
	for _, k := range changed {
		n := strings.ToLower(k)
		if strings.Contains(low, n) || strings.Contains(low, strings.ReplaceAll(n, "_", "-")) {
			return k
		}
	}
	if len(changed) == 1 {
		return changed[0]
	}
	return ""
}

// ValidateName refuses the names MariaDB or dbaasd reserve and names
// MariaDB cannot take.
func (d *Driver) ValidateName(kind, name string) error {
	var err error
	switch kind {
	case engine.ObjectUser:
		err = checkUserName(name)
	case engine.ObjectDatabase:
		err = checkDBName(name)
	}
	if err != nil {
		return engine.Invalid("", invalidMsg(err))
	}
	return nil
}

// invalidMsg is an ErrInvalid error's message without the sentinel's words.
func invalidMsg(err error) string {
	s := strings.Replace(err.Error(), ": "+engine.ErrInvalid.Error()+": ", ": ", 1)
	return strings.TrimSuffix(s, ": "+engine.ErrInvalid.Error())
}

// ValidateFirewall checks that every entry can be a MariaDB host pattern:
// no IPv6 zone, no IPv6 network.
func (d *Driver) ValidateFirewall(entries []string) error {
	if _, err := hostPatterns(entries); err != nil {
		return engine.Invalid("", invalidMsg(err))
	}
	return nil
}
