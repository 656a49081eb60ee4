package store

import (
	"database/sql"
	"fmt"

	"github.com/dbaasd/dbaasd/internal/model"
)

// tables maps every record type to its SQL table. Secret fields go through
// the sealer on the way in and out.
type tables struct {
	projects     *table[model.Project]
	types        *table[model.DatastoreType]
	flavors      *table[model.FlavorSpec]
	params       *table[model.ConfigurationParameter]
	availExts    *table[model.AvailableExtension]
	datastores   *table[model.Datastore]
	dsPublic     *table[model.Datastore] // datastores without opening secrets
	dsSummary    *table[model.Datastore] // the few columns periodic loops need
	instances    *table[model.Instance]
	users        *table[model.User]
	databases    *table[model.Database]
	grants       *table[model.Grant]
	extensions   *table[model.Extension]
	slots        *table[model.Slot]
	topics       *table[model.Topic]
	acls         *table[model.ACL]
	metricTokens *table[model.MetricsToken]
	actions      *table[model.Action]
}

func seal(s Sealer, v string) (any, error) {
	if v == "" {
		return "", nil
	}
	out, err := s.Seal(v)
	if err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	return out, nil
}

func unseal(s Sealer, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	out, err := s.Open(v)
	if err != nil {
		return "", fmt.Errorf("open secret: %w", err)
	}
	return out, nil
}

func newTables(s Sealer) *tables {
	t := &tables{}
	t.projects = newTable("projects", []string{"id", "name", "created_at"}, "created_at, id",
		func(v *model.Project) string { return v.ID },
		func(v *model.Project) ([]any, error) { return []any{v.ID, v.Name, ts(v.CreatedAt)}, nil },
		func(sc scanner) (*model.Project, error) {
			var v model.Project
			var c int64
			if err := sc.Scan(&v.ID, &v.Name, &c); err != nil {
				return nil, err
			}
			v.CreatedAt = fromTS(c)
			return &v, nil
		})

	t.types = newTable("datastore_types", []string{"id", "engine", "version", "full_version"}, "engine, version",
		func(v *model.DatastoreType) string { return v.ID },
		func(v *model.DatastoreType) ([]any, error) {
			return []any{v.ID, v.Engine, v.Version, v.FullVersion}, nil
		},
		func(sc scanner) (*model.DatastoreType, error) {
			var v model.DatastoreType
			return &v, sc.Scan(&v.ID, &v.Engine, &v.Version, &v.FullVersion)
		})

	t.flavors = newTable("flavors", []string{"id", "name", "description", "vcpus", "ram", "disk", "fl_size", "subtype",
		"host_line", "host_processor", "host_total_count", "is_public", "template", "datastore_type_ids"}, "vcpus, ram, disk, name",
		func(v *model.FlavorSpec) string { return v.ID },
		func(v *model.FlavorSpec) ([]any, error) {
			ids, err := toJSON(v.DatastoreTypeIDs)
			return []any{v.ID, v.Name, v.Description, v.VCPUs, v.RAM, v.Disk, v.FlSize, v.Subtype,
				v.HostLine, v.HostProcessor, v.HostTotalCount, v.IsPublic, v.Template, ids}, err
		},
		func(sc scanner) (*model.FlavorSpec, error) {
			var v model.FlavorSpec
			var ids string
			if err := sc.Scan(&v.ID, &v.Name, &v.Description, &v.VCPUs, &v.RAM, &v.Disk, &v.FlSize, &v.Subtype,
				&v.HostLine, &v.HostProcessor, &v.HostTotalCount, &v.IsPublic, &v.Template, &ids); err != nil {
				return nil, err
			}
			return &v, fromJSON(ids, &v.DatastoreTypeIDs)
		})

	t.params = newTable("configuration_parameters", []string{"id", "datastore_type_id", "name", "type", "unit",
		"min_template", "max_template", "default_value_template", "choices", "invalid_values", "is_restart_required",
		"is_changeable", "can_be_empty", "is_multiple_choice_available", "is_available_for_customer", "factor"},
		"datastore_type_id, name",
		func(v *model.ConfigurationParameter) string { return v.ID },
		func(v *model.ConfigurationParameter) ([]any, error) {
			ch, err := toJSON(v.Choices)
			if err != nil {
				return nil, err
			}
			inv, err := toJSON(v.InvalidValues)
			return []any{v.ID, v.DatastoreTypeID, v.Name, v.Type, v.Unit, v.MinTemplate, v.MaxTemplate,
				v.DefaultValueTemplate, ch, inv, v.IsRestartRequired, v.IsChangeable, v.CanBeEmpty,
				v.IsMultipleChoiceAvailable, v.IsAvailableForCustomer, v.Factor}, err
		},
		func(sc scanner) (*model.ConfigurationParameter, error) {
			var v model.ConfigurationParameter
			var ch, inv string
			if err := sc.Scan(&v.ID, &v.DatastoreTypeID, &v.Name, &v.Type, &v.Unit, &v.MinTemplate, &v.MaxTemplate,
				&v.DefaultValueTemplate, &ch, &inv, &v.IsRestartRequired, &v.IsChangeable, &v.CanBeEmpty,
				&v.IsMultipleChoiceAvailable, &v.IsAvailableForCustomer, &v.Factor); err != nil {
				return nil, err
			}
			if err := fromJSON(ch, &v.Choices); err != nil {
				return nil, err
			}
			return &v, fromJSON(inv, &v.InvalidValues)
		})

	t.availExts = newTable("available_extensions", []string{"id", "name", "datastore_type_ids", "dependency_ids"}, "name, id",
		func(v *model.AvailableExtension) string { return v.ID },
		func(v *model.AvailableExtension) ([]any, error) {
			ts, err := toJSON(v.DatastoreTypeIDs)
			if err != nil {
				return nil, err
			}
			deps, err := toJSON(v.DependencyIDs)
			return []any{v.ID, v.Name, ts, deps}, err
		},
		func(sc scanner) (*model.AvailableExtension, error) {
			var v model.AvailableExtension
			var tids, deps string
			if err := sc.Scan(&v.ID, &v.Name, &tids, &deps); err != nil {
				return nil, err
			}
			if err := fromJSON(tids, &v.DatastoreTypeIDs); err != nil {
				return nil, err
			}
			return &v, fromJSON(deps, &v.DependencyIDs)
		})

	t.datastores = newTable("datastores", []string{"id", "project_id", "name", "type_id", "subnet_id", "flavor_id",
		"vcpus", "ram", "disk", "disk_type", "node_count", "status", "enabled", "is_protected", "is_maintenance",
		"allow_restore", "backup_retention_days", "config", "firewall", "pooler_mode", "pooler_size", "pooler_port",
		"log_group", "security_groups", "redis_password", "admin_password", "restore_datastore_id",
		"restore_target_time", "floating_ips_master", "floating_ips_replica", "disk_used", "creation_finished_at",
		"deleted", "deleted_at", "generation", "observed_generation", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Datastore) string { return v.ID },
		func(v *model.Datastore) ([]any, error) {
			cfg, err := toJSON(v.Config)
			if err != nil {
				return nil, err
			}
			fw, err := toJSON(v.Firewall)
			if err != nil {
				return nil, err
			}
			sg, err := toJSON(v.SecurityGroups)
			if err != nil {
				return nil, err
			}
			rp, err := seal(s, v.RedisPassword)
			if err != nil {
				return nil, err
			}
			ap, err := seal(s, v.AdminPassword)
			if err != nil {
				return nil, err
			}
			var pm string
			var psz int
			if v.Pooler != nil {
				pm, psz = v.Pooler.Mode, v.Pooler.Size
			}
			var rid string
			var rtt any
			if v.Restore != nil {
				rid, rtt = v.Restore.DatastoreID, tsPtr(v.Restore.TargetTime)
			}
			return []any{v.ID, v.ProjectID, v.Name, v.TypeID, v.SubnetID, v.FlavorID,
				v.Flavor.VCPUs, v.Flavor.RAM, v.Flavor.Disk, v.Flavor.DiskType, v.NodeCount, v.Status, v.Enabled,
				v.IsProtected, v.IsMaintenance, v.AllowRestore, v.BackupRetentionDays, cfg, fw, pm, psz, v.PoolerPort,
				v.LogGroup, sg, rp, ap, rid, rtt, v.FloatingIPs.Master, v.FloatingIPs.Replica, v.DiskUsed,
				tsPtr(v.CreationFinishedAt), v.Deleted, tsPtr(v.DeletedAt), v.Generation, v.ObservedGeneration,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Datastore, error) {
			var v model.Datastore
			var cfg, fw, sg, pm, rp, ap, rid string
			var psz int
			var rtt, cfa, da sql.NullInt64
			var ca, ua int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.Name, &v.TypeID, &v.SubnetID, &v.FlavorID,
				&v.Flavor.VCPUs, &v.Flavor.RAM, &v.Flavor.Disk, &v.Flavor.DiskType, &v.NodeCount, &v.Status, &v.Enabled,
				&v.IsProtected, &v.IsMaintenance, &v.AllowRestore, &v.BackupRetentionDays, &cfg, &fw, &pm, &psz,
				&v.PoolerPort, &v.LogGroup, &sg, &rp, &ap, &rid, &rtt, &v.FloatingIPs.Master, &v.FloatingIPs.Replica,
				&v.DiskUsed, &cfa, &v.Deleted, &da, &v.Generation, &v.ObservedGeneration, &ca, &ua); err != nil {
				return nil, err
			}
			if err := fromJSON(cfg, &v.Config); err != nil {
				return nil, err
			}
			if err := fromJSON(fw, &v.Firewall); err != nil {
				return nil, err
			}
			if err := fromJSON(sg, &v.SecurityGroups); err != nil {
				return nil, err
			}
			var err error
			if v.RedisPassword, err = unseal(s, rp); err != nil {
				return nil, err
			}
			if v.AdminPassword, err = unseal(s, ap); err != nil {
				return nil, err
			}
			if pm != "" {
				v.Pooler = &model.Pooler{Mode: pm, Size: psz}
			}
			if rid != "" {
				v.Restore = &model.Restore{DatastoreID: rid, TargetTime: fromTSPtr(rtt)}
			}
			v.CreationFinishedAt, v.DeletedAt = fromTSPtr(cfa), fromTSPtr(da)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, nil
		})

	if _, public := s.(noSecrets); !public {
		t.dsPublic = newTables(noSecrets{}).datastores
	}
	t.dsSummary = summaryTable()

	t.instances = newTable("instances", []string{"id", "project_id", "datastore_id", "idx", "role", "role_name", "status", "host",
		"port", "floating_ip", "hostname", "availability_zone", "created_at"}, "datastore_id, idx",
		func(v *model.Instance) string { return v.ID },
		func(v *model.Instance) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.Index, v.Role, v.RoleName, v.Status, v.Host, v.Port,
				nullStr(v.FloatingIP), v.Hostname, v.AvailabilityZone, ts(v.CreatedAt)}, nil
		},
		func(sc scanner) (*model.Instance, error) {
			var v model.Instance
			var fip sql.NullString
			var ca int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.Index, &v.Role, &v.RoleName, &v.Status, &v.Host, &v.Port,
				&fip, &v.Hostname, &v.AvailabilityZone, &ca); err != nil {
				return nil, err
			}
			v.FloatingIP, v.CreatedAt = fip.String, fromTS(ca)
			return &v, nil
		})

	t.users = newTable("users", []string{"id", "project_id", "datastore_id", "name", "password", "status",
		"created_at", "updated_at"}, "created_at, id",
		func(v *model.User) string { return v.ID },
		func(v *model.User) ([]any, error) {
			pw, err := seal(s, v.Password)
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.Name, pw, v.Status, ts(v.CreatedAt), ts(v.UpdatedAt)}, err
		},
		func(sc scanner) (*model.User, error) {
			var v model.User
			var pw string
			var ca, ua int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.Name, &pw, &v.Status, &ca, &ua); err != nil {
				return nil, err
			}
			var err error
			v.Password, err = unseal(s, pw)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.databases = newTable("databases", []string{"id", "project_id", "datastore_id", "name", "owner_id",
		"lc_collate", "lc_ctype", "status", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Database) string { return v.ID },
		func(v *model.Database) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.Name, v.OwnerID, v.LcCollate, v.LcCtype, v.Status,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Database, error) {
			var v model.Database
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.Name, &v.OwnerID, &v.LcCollate, &v.LcCtype,
				&v.Status, &ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.grants = newTable("grants", []string{"id", "project_id", "datastore_id", "database_id", "user_id", "status",
		"created_at", "updated_at"}, "created_at, id",
		func(v *model.Grant) string { return v.ID },
		func(v *model.Grant) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.DatabaseID, v.UserID, v.Status,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Grant, error) {
			var v model.Grant
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.DatabaseID, &v.UserID, &v.Status, &ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.extensions = newTable("extensions", []string{"id", "project_id", "datastore_id", "database_id",
		"available_extension_id", "status", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Extension) string { return v.ID },
		func(v *model.Extension) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.DatabaseID, v.AvailableExtensionID, v.Status,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Extension, error) {
			var v model.Extension
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.DatabaseID, &v.AvailableExtensionID, &v.Status,
				&ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.slots = newTable("logical_replication_slots", []string{"id", "project_id", "datastore_id", "database_id",
		"name", "in_use", "size", "status", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Slot) string { return v.ID },
		func(v *model.Slot) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.DatabaseID, v.Name, v.InUse, v.Size, v.Status,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Slot, error) {
			var v model.Slot
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.DatabaseID, &v.Name, &v.InUse, &v.Size,
				&v.Status, &ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.topics = newTable("topics", []string{"id", "project_id", "datastore_id", "name", "partitions", "status",
		"created_at", "updated_at"}, "created_at, id",
		func(v *model.Topic) string { return v.ID },
		func(v *model.Topic) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.Name, v.Partitions, v.Status,
				ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.Topic, error) {
			var v model.Topic
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.Name, &v.Partitions, &v.Status, &ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.acls = newTable("acls", []string{"id", "project_id", "datastore_id", "user_id", "pattern", "pattern_type",
		"allow_read", "allow_write", "status", "created_at", "updated_at"}, "created_at, id",
		func(v *model.ACL) string { return v.ID },
		func(v *model.ACL) ([]any, error) {
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.UserID, v.Pattern, v.PatternType, v.AllowRead,
				v.AllowWrite, v.Status, ts(v.CreatedAt), ts(v.UpdatedAt)}, nil
		},
		func(sc scanner) (*model.ACL, error) {
			var v model.ACL
			var ca, ua int64
			err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.UserID, &v.Pattern, &v.PatternType,
				&v.AllowRead, &v.AllowWrite, &v.Status, &ca, &ua)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.metricTokens = newTable("prometheus_metrics_tokens", []string{"id", "project_id", "name", "value_hash",
		"value", "created_at", "updated_at"}, "created_at, id",
		func(v *model.MetricsToken) string { return v.ID },
		func(v *model.MetricsToken) ([]any, error) {
			val, err := seal(s, v.Value)
			return []any{v.ID, v.ProjectID, v.Name, v.ValueHash, val, ts(v.CreatedAt), ts(v.UpdatedAt)}, err
		},
		func(sc scanner) (*model.MetricsToken, error) {
			var v model.MetricsToken
			var val string
			var ca, ua int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.Name, &v.ValueHash, &val, &ca, &ua); err != nil {
				return nil, err
			}
			var err error
			v.Value, err = unseal(s, val)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, err
		})

	t.actions = newTable("actions", []string{"id", "project_id", "datastore_id", "name", "resource_type",
		"resource_id", "status", "request_id", "payload", "error", "progress", "attempts", "failures", "lease_owner",
		"lease_until", "not_before", "start_time", "finish_time", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Action) string { return v.ID },
		func(v *model.Action) ([]any, error) {
			p, err := toJSON(v.Payload)
			return []any{v.ID, v.ProjectID, v.DatastoreID, v.Name, v.ResourceType, v.ResourceID, v.Status,
				v.RequestID, p, v.Error, v.Progress, v.Attempts, v.Failures, v.LeaseOwner, tsPtr(v.LeaseUntil),
				tsPtr(v.NotBefore), tsPtr(v.StartTime), tsPtr(v.FinishTime), ts(v.CreatedAt), ts(v.UpdatedAt)}, err
		},
		func(sc scanner) (*model.Action, error) {
			var v model.Action
			var p string
			var lu, nb, st, ft sql.NullInt64
			var ca, ua int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.DatastoreID, &v.Name, &v.ResourceType, &v.ResourceID,
				&v.Status, &v.RequestID, &p, &v.Error, &v.Progress, &v.Attempts, &v.Failures, &v.LeaseOwner, &lu, &nb, &st, &ft,
				&ca, &ua); err != nil {
				return nil, err
			}
			v.LeaseUntil, v.NotBefore, v.StartTime, v.FinishTime = fromTSPtr(lu), fromTSPtr(nb), fromTSPtr(st), fromTSPtr(ft)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, fromJSON(p, &v.Payload)
		})
	return t
}

// noSecrets is the sealer of the secret-free datastore view: it leaves
// sealed values unopened (and is never used to write).
type noSecrets struct{}

func (noSecrets) Seal(string) (string, error) {
	return "", fmt.Errorf("the secret-free view is read-only")
}
func (noSecrets) Open(string) (string, error) { return "", nil }

// summaryTable reads only what periodic loops (probing, backups, metric
// collection, log export) need of each datastore, which makes a pass over
// thousands of datastores cheap. Every other field stays empty.
func summaryTable() *table[model.Datastore] {
	return newTable("datastores", []string{"id", "project_id", "name", "type_id", "flavor_id", "node_count", "status",
		"allow_restore", "backup_retention_days", "log_group", "creation_finished_at", "deleted", "deleted_at",
		"generation", "created_at", "updated_at"}, "created_at, id",
		func(v *model.Datastore) string { return v.ID },
		func(*model.Datastore) ([]any, error) { return nil, fmt.Errorf("datastore summaries are read-only") },
		func(sc scanner) (*model.Datastore, error) {
			var v model.Datastore
			var cfa, da sql.NullInt64
			var ca, ua int64
			if err := sc.Scan(&v.ID, &v.ProjectID, &v.Name, &v.TypeID, &v.FlavorID, &v.NodeCount, &v.Status,
				&v.AllowRestore, &v.BackupRetentionDays, &v.LogGroup, &cfa, &v.Deleted, &da, &v.Generation, &ca, &ua); err != nil {
				return nil, err
			}
			v.CreationFinishedAt, v.DeletedAt = fromTSPtr(cfa), fromTSPtr(da)
			v.CreatedAt, v.UpdatedAt = fromTS(ca), fromTS(ua)
			return &v, nil
		})
}
