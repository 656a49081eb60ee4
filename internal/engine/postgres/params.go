package postgres

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// managedParams are set by dbaasd on every server (addresses, sockets,
// replication, logging the logs API relies on, locale) or are unsafe to let
// users set (they can corrupt data or make the server unreachable or
// unstartable). Users cannot set them; the catalog marks them unchangeable.
var managedParams = map[string]bool{
	"port": true, "listen_addresses": true, "data_directory": true, "hba_file": true,
	"ident_file": true, "config_file": true, "external_pid_file": true,
	"restore_command": true, "promote_trigger_file": true, "data_sync_retry": true,
	"wal_level": true, "logging_collector": true, "log_directory": true, "log_filename": true,
	"log_destination": true, "log_line_prefix": true, "log_rotation_age": true,
	"log_rotation_size": true, "log_truncate_on_rotation": true, "log_file_mode": true,
	"log_timezone": true, "log_connections": true, "event_source": true,
	"shared_preload_libraries": true, "local_preload_libraries": true,
	"session_preload_libraries": true, "dynamic_library_path": true, "jit_provider": true,
	"cluster_name": true, "hot_standby": true, "hot_standby_feedback": true,
	"max_wal_senders": true, "max_replication_slots": true, "password_encryption": true,
	"dynamic_shared_memory_type": true, "fsync": true, "full_page_writes": true,
	"wal_sync_method": true, "zero_damaged_pages": true, "ignore_checksum_failure": true,
	"ignore_invalid_pages": true, "ignore_system_indexes": true, "allow_system_table_mods": true,
	"bonjour": true, "bonjour_name": true, "krb_server_keyfile": true,
	"wal_receiver_create_temp_slot": true,
}

// managedPrefixes extend managedParams to whole families.
var managedPrefixes = []string{"ssl", "archive_", "recovery_", "unix_socket_", "lc_",
	"primary_", "syslog_", "krb_"}

var paramNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$`)

// checkUserParam reports why a user may not set a parameter, wrapping
// engine.ErrInvalid, or nil when they may.
func checkUserParam(name string) error {
	if !paramNameRE.MatchString(name) {
		return fmt.Errorf("%w: %q is not a configuration parameter name", engine.ErrInvalid, name)
	}
	if managedParams[name] {
		return fmt.Errorf("%w: parameter %s is managed by dbaasd and cannot be set", engine.ErrInvalid, name)
	}
	for _, p := range managedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("%w: parameter %s is managed by dbaasd and cannot be set", engine.ErrInvalid, name)
		}
	}
	return nil
}
