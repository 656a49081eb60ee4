package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

var versionRe = regexp.MustCompile(`Ver\s+((\d+)\.(\d+)\S*)`)

// Info runs `mariadbd --version`: Version is major.minor ("10.11"), Full
// the whole version ("10.11.14-MariaDB-0+deb12u1").
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	if d.name == "" || d.runnerErr != nil {
		return engine.Info{}, d.check()
	}
	d.infoMu.Lock()
	defer d.infoMu.Unlock()
	if d.info != nil {
		return *d.info, nil
	}
	bin, err := proc.FindBinary("mariadbd")
	if err != nil {
		return engine.Info{}, err
	}
	out, err := d.runner.Run(ctx, bin, "--version")
	if err != nil {
		return engine.Info{}, fmt.Errorf("mariadbd --version: %w", err)
	}
	m := versionRe.FindStringSubmatch(string(out))
	if m == nil {
		return engine.Info{}, fmt.Errorf("cannot read the version in %q", strings.TrimSpace(string(out)))
	}
	d.info = &engine.Info{Engine: d.name, Version: m[2] + "." + m[3], Full: m[1]}
	return *d.info, nil
}

// Catalog reports the configurable server variables, read from a temporary
// server started from the template (information_schema.SYSTEM_VARIABLES:
// type, bounds, enumeration values, default, and READ_ONLY, which makes a
// variable RestartRequired) and curated: variables dbaasd owns or that are
// unsafe to hand to users are left out. innodb_buffer_pool_size and
// max_connections carry templates over the flavor's RAM. The result is
// cached in memory and in <TemplateDir>/catalog.json.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	info, err := d.Info(ctx)
	if err != nil {
		return engine.Catalog{}, err
	}
	if err := d.check(); err != nil {
		return engine.Catalog{}, err
	}
	d.catalogMu.Lock()
	defer d.catalogMu.Unlock()
	if d.catalog != nil {
		return copyCatalog(*d.catalog), nil
	}
	cachePath := filepath.Join(d.templateDir, "catalog.json")
	var cached struct {
		Version    string             `json:"version"`
		Parameters []engine.Parameter `json:"parameters"`
	}
	if b, err := os.ReadFile(cachePath); err == nil && json.Unmarshal(b, &cached) == nil && cached.Version == info.Full && len(cached.Parameters) > 0 {
		d.catalog = &engine.Catalog{Parameters: cached.Parameters}
		return copyCatalog(*d.catalog), nil
	}
	if err := d.ensureTemplate(ctx); err != nil {
		return engine.Catalog{}, err
	}
	params, err := d.readCatalog(ctx)
	if err != nil {
		return engine.Catalog{}, fmt.Errorf("read the MariaDB catalog: %w", err)
	}
	d.catalog = &engine.Catalog{Parameters: params}
	cached.Version, cached.Parameters = info.Full, params
	if b, err := json.MarshalIndent(cached, "", " "); err == nil {
		_, _ = d.runner.WriteFile(cachePath, b, 0o600)
	}
	return copyCatalog(*d.catalog), nil
}

func copyCatalog(c engine.Catalog) engine.Catalog {
	c.Parameters = append([]engine.Parameter(nil), c.Parameters...)
	return c
}

// readCatalog starts a throwaway server on a copy of the template (no
// networking, socket in a private directory) and reads its variables.
func (d *Driver) readCatalog(ctx context.Context) ([]engine.Parameter, error) {
	bin, err := proc.FindBinary("mariadbd")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dbaasd-mycat-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := d.runner.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if _, err := run(ctx, d.runner, dir, nil, "cp", "-a", d.templateData()+"/.", data); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "s.sock")
	cmd := d.runner.Command(context.WithoutCancel(ctx), bin, "--no-defaults", "--datadir="+data, "--socket="+sock, "--tmpdir="+dir,
		"--skip-networking", "--skip-log-bin", "--pid-file="+filepath.Join(dir, "pid"),
		"--log-error="+filepath.Join(dir, "error.log"), "--innodb-buffer-pool-size=32M",
		fmt.Sprintf("--innodb-log-file-size=%d", templateLogFileSize), "--performance-schema=OFF")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	db := openSocket(sock, "", time.Second)
	defer func() { _ = db.Close() }()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if err := db.PingContext(wctx); err == nil {
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("temporary mariadbd exited: %s", tailLines(string(b), 5))
		case <-wctx.Done():
			return nil, fmt.Errorf("temporary mariadbd did not start: %w", wctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return queryCatalog(ctx, db)
}

func queryCatalog(ctx context.Context, db *sql.DB) ([]engine.Parameter, error) {
	rows, err := db.QueryContext(ctx, `SELECT LOWER(s.VARIABLE_NAME), s.VARIABLE_TYPE, s.NUMERIC_MIN_VALUE,
		s.NUMERIC_MAX_VALUE, s.ENUM_VALUE_LIST, s.DEFAULT_VALUE, s.READ_ONLY
		FROM information_schema.SYSTEM_VARIABLES s
		JOIN information_schema.GLOBAL_VARIABLES g ON g.VARIABLE_NAME = s.VARIABLE_NAME
		WHERE s.COMMAND_LINE_ARGUMENT IS NOT NULL
		ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []engine.Parameter
	for rows.Next() {
		var name, typ, readOnly string
		var minV, maxV, enum, def sql.NullString
		if err := rows.Scan(&name, &typ, &minV, &maxV, &enum, &def, &readOnly); err != nil {
			return nil, err
		}
		if excludedParam(name) {
			continue
		}
		out = append(out, parameter(name, typ, minV, maxV, enum, def, readOnly == "YES"))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no variables")
	}
	return out, nil
}

// parameter builds a catalog entry from a SYSTEM_VARIABLES row.
func parameter(name, typ string, minV, maxV, enum, def sql.NullString, readOnly bool) engine.Parameter {
	p := engine.Parameter{Name: name, RestartRequired: readOnly, Changeable: true}
	num := func(s sql.NullString) *float64 {
		if !s.Valid {
			return nil
		}
		f, err := strconv.ParseFloat(s.String, 64)
		if err != nil {
			return nil
		}
		return &f
	}
	switch typ {
	case "INT", "INT UNSIGNED", "BIGINT", "BIGINT UNSIGNED":
		p.Type = "int"
		p.Min, p.Max = num(minV), num(maxV)
		if f := num(def); f != nil {
			p.Default = *f
		}
	case "DOUBLE":
		p.Type = "float"
		p.Min, p.Max = num(minV), num(maxV)
		if f := num(def); f != nil {
			p.Default = *f
		}
	case "BOOLEAN":
		p.Type = "bool"
		switch strings.ToUpper(def.String) {
		case "ON", "1", "TRUE":
			p.Default = true
		case "OFF", "0", "FALSE":
			p.Default = false
		}
	default: // ENUM, SET, FLAGSET, VARCHAR
		p.Type = "str"
		if typ == "ENUM" || typ == "SET" {
			if enum.Valid && enum.String != "" {
				p.Choices = strings.Split(enum.String, ",")
			}
		}
		p.CanBeEmpty = typ == "SET" || typ == "VARCHAR" && def.Valid && def.String == ""
		if def.Valid {
			p.Default = def.String
		}
	}
	switch {
	case strings.HasSuffix(name, "_size") || name == "max_allowed_packet":
		if p.Type == "int" {
			p.Unit = "bytes"
		}
	case strings.HasSuffix(name, "_timeout") || name == "long_query_time" || strings.HasSuffix(name, "_seconds"):
		p.Unit = "seconds"
	}
	switch name {
	case "innodb_buffer_pool_size":
		// Up to 75% of the flavor's RAM; dbaasd's default (config.go).
		p.MaxTemplate = "ram * 786432"
		p.DefaultTemplate = "max(128, floor((ram / 2 - 384) / 128) * 128) * 1048576"
		p.Default = nil
	case "max_connections":
		p.MaxTemplate = "max(50, ram / 2)"
		p.DefaultTemplate = "min(5000, max(50, floor(ram / 8)))"
		p.Default = nil
	}
	return p
}

// excludedParam reports variables users cannot set: those dbaasd owns
// (addresses, paths, replication, Galera, server identity), those whose
// change breaks the data directory or the security model, and paths.
func excludedParam(name string) bool {
	switch name {
	case "port", "bind_address", "socket", "datadir", "basedir", "tmpdir", "pid_file", "server_id",
		"read_only", "log_error", "log_slave_updates", "binlog_format", "general_log",
		"lower_case_table_names", "innodb_page_size", "innodb_undo_tablespaces", "innodb_force_recovery",
		"innodb_read_only", "innodb_autoinc_lock_mode", "user", "chroot", "bootstrap", "extra_port",
		"extra_max_connections", "proxy_protocol_networks", "tc_heuristic_recover", "large_pages",
		"locked_in_memory", "core_file", "relay_log", "log_basename", "skip_name_resolve",
		"innodb_log_group_home_dir", "innodb_undo_directory", "innodb_tmpdir", "innodb_temp_data_file_path",
		"report_host", "report_port", "report_user", "report_password", "thread_pool_dedicated_listener",
		"aria_log_dir_path", "character_sets_dir", "lc_messages_dir", "plugin_maturity", "old_passwords",
		"allow_suspicious_udfs", "ignore_builtin_innodb", "require_secure_transport", "slave_skip_errors",
		"slave_exec_mode", "innodb_default_encryption_key_id", "innodb_ft_aux_table",
		// Actions rather than settings.
		"innodb_buffer_pool_dump_now", "innodb_buffer_pool_load_now", "innodb_buffer_pool_load_abort",
		"innodb_log_checkpoint_now", "innodb_optimize_fulltext_only":
		return true
	case "log_bin_trust_function_creators":
		return false
	}
	for _, p := range []string{"log_bin", "gtid_", "wsrep_", "rpl_semi_sync_", "skip_", "plugin_", "ssl_", "tls_",
		"secure_", "init_", "innodb_data_", "innodb_monitor_", "relay_log", "replicate_", "debug", "have_", "version", "master_info",
		"slave_load_tmpdir", "innodb_encrypt", "aria_encrypt", "encrypt_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range []string{"file", "_dir", "_path", "_directory"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
