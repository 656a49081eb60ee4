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
		d.catalog = &engine.Catalog{Parameters: allowedOnly(cached.Parameters)}
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

// allowedOnly keeps the parameters a tenant may set (a cache written by an
// older dbaasd may list more).
func allowedOnly(params []engine.Parameter) []engine.Parameter {
	out := make([]engine.Parameter, 0, len(params))
	for _, p := range params {
		if allowedParam(p.Name) {
			out = append(out, p)
		}
	}
	return out
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
	args := []string{"--no-defaults", "--datadir=" + data, "--socket=" + sock, "--tmpdir=" + dir,
		"--skip-networking", "--skip-log-bin", "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-error=" + filepath.Join(dir, "error.log"), "--innodb-buffer-pool-size=32M",
		fmt.Sprintf("--innodb-log-file-size=%d", templateLogFileSize), "--performance-schema=OFF"}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, stop, err := d.startScratch(wctx, "read the catalog", bin, dir, sock, args, func(string) error {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return fmt.Errorf("temporary mariadbd exited: %s", tailLines(string(b), 5))
	})
	if err != nil {
		return nil, err
	}
	defer stop()
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
		if !allowedParam(name) {
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
	if t, ok := paramTemplates[name]; ok {
		p.MaxTemplate, p.DefaultTemplate, p.Default = t.max, t.def, nil
	}
	return p
}

// paramTemplates are the catalog's flavor-dependent default and maximum
// of the parameters dbaasd tunes from the flavor. The defaults must give
// what config.go's formulas give the servers (TestTemplatesMatchTuning).
var paramTemplates = map[string]struct{ def, max string }{
	// Up to 75% of the flavor's RAM; the default is bufferPoolBytes.
	"innodb_buffer_pool_size": {
		def: "max(128, floor((ram / 2 - 384) / 128) * 128) * 1048576",
		max: "ram * 786432",
	},
	// The default is maxConnections.
	"max_connections": {
		def: "min(5000, max(50, floor(ram / 8)))",
		max: "max(50, ram / 2)",
	},
}

// allowedParams are the server variables a tenant may set: an allow-list,
// so a variable a new MariaDB version adds is refused until it is
// reviewed. They tune the server for the tenant's data (buffers, InnoDB,
// optimizer, query cache, timeouts, limits, SQL behaviour, slow query
// logging). Left out on purpose, among others: what dbaasd owns
// (addresses, ports, sockets, server identity, binary log and
// replication, Galera, read_only), paths and files (datadir, tmpdir,
// plugin_dir, secure_file_priv, init_file, general_log_file,
// slow_query_log_file, ft_stopword_file, ...), where logs go (log_output,
// log_error, general_log), plugin loading, TLS, SQL run at connect or
// start (init_connect, init_slave), and switches that weaken the data
// directory or the security model (innodb_force_recovery,
// innodb_doublewrite, skip_grant_tables, allow_suspicious_udfs,
// automatic_sp_privileges, old_passwords, secure_auth).
var allowedParams = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`
		alter_algorithm analyze_sample_percentage aria_pagecache_buffer_size aria_sort_buffer_size
		auto_increment_increment auto_increment_offset back_log big_tables binlog_cache_size
		binlog_stmt_cache_size bulk_insert_buffer_size completion_type concurrent_insert connect_timeout
		datetime_format date_format time_format deadlock_search_depth_long deadlock_search_depth_short
		deadlock_timeout_long deadlock_timeout_short default_password_lifetime default_regex_flags
		default_week_format delayed_insert_limit delayed_insert_timeout delayed_queue_size delay_key_write
		disconnect_on_expired_password div_precision_increment eq_range_index_dive_limit event_scheduler
		expensive_subquery_limit explicit_defaults_for_timestamp ft_boolean_syntax ft_max_word_len
		ft_min_word_len ft_query_expansion_limit group_concat_max_len histogram_size histogram_type
		idle_readonly_transaction_timeout idle_transaction_timeout idle_write_transaction_timeout
		in_predicate_conversion_threshold interactive_timeout join_buffer_size join_buffer_space_limit
		join_cache_level key_buffer_size key_cache_age_threshold key_cache_block_size
		key_cache_division_limit local_infile lock_wait_timeout log_bin_trust_function_creators
		log_queries_not_using_indexes log_slow_admin_statements log_slow_filter
		log_slow_min_examined_row_limit log_slow_query log_slow_query_time log_slow_rate_limit
		log_slow_verbosity log_warnings long_query_time low_priority_updates max_allowed_packet
		max_connect_errors max_connections max_digest_length max_error_count max_heap_table_size
		max_join_size max_length_for_sort_data max_password_errors max_prepared_stmt_count
		max_recursive_iterations max_rowid_filter_size max_seeks_for_key max_session_mem_used
		max_sort_length max_sp_recursion_depth max_statement_time max_user_connections
		max_write_lock_count min_examined_row_limit mrr_buffer_size myisam_sort_buffer_size
		net_buffer_length net_read_timeout net_retry_count net_write_timeout note_verbosity old_mode
		optimizer_adjust_secondary_key_costs optimizer_extra_pruning_depth optimizer_join_limit_pref_ratio
		optimizer_max_sel_args optimizer_max_sel_arg_weight optimizer_prune_level optimizer_search_depth
		optimizer_selectivity_sampling_limit optimizer_switch optimizer_trace optimizer_trace_max_mem_size
		optimizer_use_condition_selectivity performance_schema preload_buffer_size profiling_history_size
		progress_report_time query_alloc_block_size query_cache_limit query_cache_min_res_unit
		query_cache_size query_cache_strip_comments query_cache_type query_cache_wlock_invalidate
		query_prealloc_size range_alloc_block_size read_buffer_size read_rnd_buffer_size
		rowid_merge_buff_size session_track_schema session_track_state_change
		session_track_system_variables session_track_transaction_info slow_launch_time slow_query_log
		sort_buffer_size sql_mode sql_safe_updates standard_compliant_cte stored_program_cache
		strict_password_validation sync_binlog system_versioning_alter_history table_definition_cache
		table_open_cache tcp_keepalive_interval tcp_keepalive_probes tcp_keepalive_time tcp_nodelay
		thread_cache_size thread_pool_idle_timeout thread_pool_max_threads thread_pool_oversubscribe
		thread_pool_priority thread_pool_prio_kickup_timer thread_pool_size thread_pool_stall_limit
		tmp_disk_table_size tmp_memory_table_size tmp_table_size transaction_alloc_block_size
		transaction_prealloc_size updatable_views_with_limit use_stat_tables wait_timeout
		innodb_adaptive_flushing innodb_adaptive_flushing_lwm innodb_adaptive_hash_index
		innodb_autoextend_increment innodb_buffer_pool_dump_at_shutdown innodb_buffer_pool_dump_pct
		innodb_buffer_pool_load_at_startup innodb_buffer_pool_size innodb_change_buffering
		innodb_change_buffer_max_size innodb_compression_algorithm innodb_compression_default
		innodb_compression_level innodb_deadlock_detect innodb_deadlock_report innodb_default_row_format
		innodb_file_per_table innodb_fill_factor innodb_flush_log_at_timeout
		innodb_flush_log_at_trx_commit innodb_flush_neighbors innodb_flushing_avg_loops
		innodb_ft_cache_size innodb_ft_enable_stopword innodb_ft_max_token_size innodb_ft_min_token_size
		innodb_ft_num_word_optimize innodb_ft_result_cache_limit innodb_ft_total_cache_size
		innodb_io_capacity innodb_io_capacity_max innodb_lock_wait_timeout innodb_log_buffer_size
		innodb_log_file_size innodb_lru_scan_depth innodb_max_dirty_pages_pct
		innodb_max_dirty_pages_pct_lwm innodb_max_purge_lag innodb_max_purge_lag_delay
		innodb_max_undo_log_size innodb_old_blocks_pct innodb_old_blocks_time
		innodb_online_alter_log_max_size innodb_open_files innodb_print_all_deadlocks
		innodb_purge_batch_size innodb_purge_threads innodb_random_read_ahead
		innodb_read_ahead_threshold innodb_read_io_threads innodb_rollback_on_timeout
		innodb_snapshot_isolation innodb_sort_buffer_size innodb_stats_auto_recalc
		innodb_stats_include_delete_marked innodb_stats_method innodb_stats_on_metadata
		innodb_stats_persistent innodb_stats_persistent_sample_pages innodb_stats_transient_sample_pages
		innodb_strict_mode innodb_table_locks innodb_undo_log_truncate innodb_write_io_threads`) {
		allowedParams[n] = true
	}
}

// allowedParam reports whether a tenant may set a variable.
func allowedParam(name string) bool { return allowedParams[name] }
