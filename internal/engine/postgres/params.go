package postgres

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// allowedParams are the parameters a tenant may set: an allow-list, so a
// parameter a new PostgreSQL version adds is refused until it is reviewed.
// They tune the server for the tenant's own data — memory, planner,
// autovacuum, checkpoints, timeouts, client defaults, what is logged and
// measured. Left out on purpose, among others: file and directory
// settings (data_directory, extension_destdir, log_directory, ssl_*_file,
// ...), library loading (*_preload_libraries, dynamic_library_path,
// jit_provider), commands and log destinations (archive_command,
// log_destination, syslog_*), what dbaasd manages (ports, addresses,
// sockets, replication, WAL level, locale of messages, logging the logs
// API parses), switches that disable safety checks (fsync,
// full_page_writes, zero_damaged_pages, ignore_*, allow_system_table_mods,
// session_replication_role, lo_compat_privileges) and developer options.
var allowedParams = setOf(
	// Connections and timeouts.
	"max_connections", "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count",
	"tcp_user_timeout", "client_connection_check_interval", "authentication_timeout",
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout",
	// Memory and resources.
	"shared_buffers", "huge_pages", "temp_buffers", "max_prepared_transactions", "work_mem",
	"hash_mem_multiplier", "maintenance_work_mem", "autovacuum_work_mem", "logical_decoding_work_mem",
	"max_stack_depth", "temp_file_limit", "max_files_per_process", "vacuum_cost_delay",
	"vacuum_cost_page_hit", "vacuum_cost_page_miss", "vacuum_cost_page_dirty", "vacuum_cost_limit",
	"bgwriter_delay", "bgwriter_lru_maxpages", "bgwriter_lru_multiplier", "bgwriter_flush_after",
	"backend_flush_after", "effective_io_concurrency", "maintenance_io_concurrency",
	"max_worker_processes", "max_parallel_workers_per_gather", "max_parallel_maintenance_workers",
	"max_parallel_workers", "parallel_leader_participation", "old_snapshot_threshold",
	// Write-ahead log and checkpoints.
	"synchronous_commit", "wal_compression", "wal_buffers", "wal_writer_delay", "wal_writer_flush_after",
	"commit_delay", "commit_siblings", "checkpoint_timeout", "checkpoint_completion_target",
	"checkpoint_flush_after", "checkpoint_warning", "max_wal_size", "min_wal_size", "wal_keep_size",
	"max_slot_wal_keep_size", "wal_sender_timeout", "wal_init_zero", "wal_recycle", "wal_skip_threshold",
	"track_commit_timestamp", "max_standby_streaming_delay", "max_standby_archive_delay",
	"max_logical_replication_workers", "max_sync_workers_per_subscription", "vacuum_defer_cleanup_age",
	// Planner.
	"enable_async_append", "enable_bitmapscan", "enable_gathermerge", "enable_hashagg", "enable_hashjoin",
	"enable_incremental_sort", "enable_indexscan", "enable_indexonlyscan", "enable_material",
	"enable_memoize", "enable_mergejoin", "enable_nestloop", "enable_parallel_append",
	"enable_parallel_hash", "enable_partition_pruning", "enable_partitionwise_join",
	"enable_partitionwise_aggregate", "enable_seqscan", "enable_sort", "enable_tidscan",
	"seq_page_cost", "random_page_cost", "cpu_tuple_cost", "cpu_index_tuple_cost", "cpu_operator_cost",
	"parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
	"min_parallel_index_scan_size", "effective_cache_size", "jit", "jit_above_cost",
	"jit_inline_above_cost", "jit_optimize_above_cost", "geqo", "geqo_threshold", "geqo_effort",
	"geqo_pool_size", "geqo_generations", "geqo_selection_bias", "geqo_seed", "default_statistics_target",
	"constraint_exclusion", "cursor_tuple_fraction", "from_collapse_limit", "join_collapse_limit",
	"plan_cache_mode", "recursive_worktable_factor",
	// What is logged and measured (not where).
	"log_min_messages", "log_min_error_statement", "log_min_duration_statement",
	"log_min_duration_sample", "log_statement_sample_rate", "log_transaction_sample_rate",
	"log_autovacuum_min_duration", "log_checkpoints", "log_disconnections", "log_duration",
	"log_error_verbosity", "log_lock_waits", "log_recovery_conflict_waits", "log_parameter_max_length",
	"log_parameter_max_length_on_error", "log_statement", "log_replication_commands", "log_temp_files",
	"log_startup_progress_interval", "track_activities", "track_counts", "track_io_timing",
	"track_wal_io_timing", "track_functions", "track_activity_query_size", "compute_query_id",
	"stats_fetch_consistency",
	// Autovacuum.
	"autovacuum", "autovacuum_max_workers", "autovacuum_naptime", "autovacuum_vacuum_threshold",
	"autovacuum_vacuum_insert_threshold", "autovacuum_analyze_threshold",
	"autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor",
	"autovacuum_analyze_scale_factor", "autovacuum_freeze_max_age", "autovacuum_multixact_freeze_max_age",
	"autovacuum_vacuum_cost_delay", "autovacuum_vacuum_cost_limit",
	// Client defaults.
	"application_name", "client_min_messages", "search_path", "row_security", "default_table_access_method",
	"default_tablespace", "temp_tablespaces", "default_toast_compression", "check_function_bodies",
	"default_transaction_isolation", "default_transaction_read_only", "default_transaction_deferrable",
	"vacuum_freeze_table_age", "vacuum_freeze_min_age", "vacuum_failsafe_age",
	"vacuum_multixact_freeze_table_age", "vacuum_multixact_freeze_min_age", "vacuum_multixact_failsafe_age",
	"bytea_output", "xmlbinary", "xmloption", "gin_pending_list_limit", "gin_fuzzy_search_limit",
	"datestyle", "intervalstyle", "timezone", "extra_float_digits", "client_encoding",
	"default_text_search_config", "array_nulls", "backslash_quote", "escape_string_warning",
	"quote_all_identifiers", "standard_conforming_strings", "synchronize_seqscans",
	"transform_null_equals", "deadlock_timeout", "max_locks_per_transaction",
	"max_pred_locks_per_transaction", "max_pred_locks_per_relation", "max_pred_locks_per_page",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var paramNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$`)

// checkUserParam reports why a tenant may not set a parameter, wrapping
// engine.ErrInvalid, or nil when they may.
func checkUserParam(name string) error {
	name = strings.ToLower(name) // pg_settings spells a few in capitals (TimeZone, DateStyle)
	if !paramNameRE.MatchString(name) {
		return fmt.Errorf("%w: %q is not a configuration parameter name", engine.ErrInvalid, name)
	}
	if !allowedParams[name] {
		return fmt.Errorf("%w: parameter %s cannot be set: it is not one a tenant may change", engine.ErrInvalid, name)
	}
	return nil
}
