package cnpg

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateName implements engine.Validator: PostgreSQL's reserved names,
// and the role names the operator keeps for itself (streaming_replica and
// names starting with cnpg_), which it refuses as managed roles: a user
// with such a name is refused before dbaasd accepts it, instead of
// failing once accepted.
func (d *Driver) ValidateName(kind, name string) error {
	if err := postgres.CheckName(kind, name); err != nil {
		return err
	}
	low := strings.ToLower(name)
	if kind == engine.ObjectUser && (low == "streaming_replica" || strings.HasPrefix(low, "cnpg_")) {
		return engine.Invalid("", fmt.Sprintf("role name %q is reserved by CloudNativePG", name))
	}
	return nil
}

// ValidateFirewall implements engine.Validator: the entries become
// pg_hba rules, as with the local runtime.
func (d *Driver) ValidateFirewall(entries []string) error { return postgres.CheckFirewall(entries) }

// ValidateConfig implements engine.Validator. The values were checked
// against the catalog (types and ranges; the parameters the operator
// manages are not in it, so setting one is refused there). With a
// SettingsCheck, PostgreSQL itself then loads the configuration the
// instances would start with — the operator's defaults, dbaasd's flavor
// tuning, the user's parameters — as a starting server does, so that a
// value or a combination the server refuses (a time zone it does not
// know, max_connections not above superuser_reserved_connections) is a
// 400 instead of a rollout that never ends. A check that cannot run
// (no PostgreSQL of that major version beside dbaasd) leaves the catalog's
// checks alone, as without a SettingsCheck.
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	if d.opts.SettingsCheck == nil {
		return nil
	}
	settings := maps.Clone(operatorDefaults)
	maps.Copy(settings, parameters(c))
	err := d.opts.SettingsCheck.CheckSettings(ctx, majorVersion(c.Version), settings, changed, c.Config)
	if err != nil && !errors.Is(err, engine.ErrInvalid) {
		d.log.Warn("configuration not checked by a server", "datastore_id", c.ID, "error", err)
		return nil
	}
	return err
}

// operatorDefaults are the settings CloudNativePG v1.27.1 gives every
// instance unless the Cluster's parameters say otherwise (the start-up
// relevant part of CnpgConfigurationSettings.GlobalDefaultSettings, plus
// its mandatory hot_standby): the parameters a user's values are checked
// together with.
var operatorDefaults = map[string]string{
	"dynamic_shared_memory_type": "posix",
	"full_page_writes":           "on",
	"hot_standby":                "on",
	"max_parallel_workers":       "32",
	"max_replication_slots":      "32",
	"max_worker_processes":       "32",
	"shared_memory_type":         "mmap",
	"wal_keep_size":              "512MB",
	"wal_level":                  "logical",
	"wal_log_hints":              "on",
	"wal_receiver_timeout":       "5s",
	"wal_sender_timeout":         "5s",
}

// majorVersion is the PostgreSQL major version of a cluster version
// ("15.4" → "15"; "" stays "", the newest installed).
func majorVersion(v string) string {
	if i := strings.IndexByte(v, '.'); i > 0 {
		return v[:i]
	}
	return v
}
