package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// UpdateConfig changes configuration parameters; null values reset them.
// The resulting configuration is checked against the catalog and then by
// the engine itself (outside the transaction: the engine may start a
// scratch server); if the datastore changed meanwhile, it is checked again.
func (s *Service) UpdateConfig(ctx context.Context, c Caller, id string, changes map[string]any) (*DatastoreView, error) {
	for attempt := 0; ; attempt++ {
		d, err := s.liveDatastore(ctx, s.store, c, id, false)
		if err != nil {
			return nil, err
		}
		if err := acceptsChange(d); err != nil {
			return nil, err
		}
		typ, err := s.store.DatastoreTypes().Get(ctx, d.TypeID)
		if err != nil {
			return nil, fmt.Errorf("datastore type: %w", err)
		}
		cfg, err := s.mergeConfig(ctx, s.store, typ.ID, d.Flavor, d.Config, changes)
		if err != nil {
			return nil, err
		}
		if err := s.checkConfigWithEngine(ctx, typ, d.Flavor, cfg, changes); err != nil {
			return nil, err
		}
		v, err := s.mutate(ctx, c, id, true, func(tx store.Tx, cur *model.Datastore, typ *model.DatastoreType) (string, error) {
			merged, err := s.mergeConfig(ctx, tx, typ.ID, cur.Flavor, cur.Config, changes)
			if err != nil {
				return "", err
			}
			if cur.Flavor != d.Flavor || !reflect.DeepEqual(merged, cfg) {
				return "", errStale
			}
			cur.Config = merged
			return model.ActDatastoreUpdate, nil
		})
		if errors.Is(err, errStale) {
			if attempt < 3 {
				continue
			}
			return nil, Conflict("datastore_id", "datastore %s changed while its configuration was checked; send the request again", id)
		}
		return v, err
	}
}

// acceptsChange refuses a datastore-level change while another one is
// under way. A datastore that is ACTIVE, DEGRADED, DOWN, DISK_FULL or in
// ERROR accepts it: a change (a configuration, a firewall, a password, a
// resize) may be exactly what repairs it.
func acceptsChange(d *model.Datastore) error {
	switch d.Status {
	case model.StatusActive, model.StatusDegraded, model.StatusDown, model.StatusDiskFull, model.StatusError:
		return nil
	}
	return Invalid("datastore_id", "datastore %s is %s; it must be ACTIVE (or DEGRADED, DOWN, DISK_FULL, ERROR) to accept this change", d.ID, d.Status)
}

// ParseFirewall validates firewall entries (IP addresses or CIDR prefixes)
// and returns them in canonical form, without duplicates.
func ParseFirewall(ips []string) ([]string, error) {
	out := make([]string, 0, len(ips))
	seen := map[string]bool{}
	for i, raw := range ips {
		s := strings.TrimSpace(raw)
		var canon string
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, Invalid("firewall.ips", "entry %d (%q) is not an IP address or CIDR prefix", i, raw)
			}
			canon = p.Masked().String()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, Invalid("firewall.ips", "entry %d (%q) is not an IP address or CIDR prefix", i, raw)
			}
			canon = a.String()
		}
		if !seen[canon] {
			seen[canon] = true
			out = append(out, canon)
		}
	}
	return out, nil
}

// UpdateFirewall replaces the list of addresses allowed to connect; an
// empty list lets every address in.
func (s *Service) UpdateFirewall(ctx context.Context, c Caller, id string, ips []string) (*DatastoreView, error) {
	list, err := ParseFirewall(ips)
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, c, id, true, func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (string, error) {
		if err := s.checkFirewallWithEngine(typ.Engine, list); err != nil {
			return "", err
		}
		if grow := len(list) - len(d.Firewall); grow > 0 {
			if err := s.checkQuota(ctx, tx, c.ProjectID, store.Usage{FirewallRules: int64(grow)}); err != nil {
				return "", err
			}
		}
		d.Firewall = list
		return model.ActDatastoreUpdate, nil
	})
}

// UpdatePooler changes the pooler's mode and size.
func (s *Service) UpdatePooler(ctx context.Context, c Caller, id string, p PoolerSpec) (*DatastoreView, error) {
	return s.mutate(ctx, c, id, true, func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (string, error) {
		if !s.cfg.Capabilities[typ.Engine].Pooler {
			return "", Invalid("pooler", "a connection pooler is available only for PostgreSQL datastores")
		}
		if err := s.applyPooler(d, s.cfg.Capabilities[typ.Engine], &p, "pooler"); err != nil {
			return "", err
		}
		return model.ActDatastoreUpdate, nil
	})
}

// UpdatePassword changes the cluster-wide password (Redis).
func (s *Service) UpdatePassword(ctx context.Context, c Caller, id, password string) (*DatastoreView, error) {
	return s.mutate(ctx, c, id, true, func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (string, error) {
		if !s.cfg.Capabilities[typ.Engine].Password {
			return "", Invalid("password.redis_password", "a cluster password applies only to Redis datastores")
		}
		if err := CheckRedisPassword("password.redis_password", password); err != nil {
			return "", err
		}
		d.RedisPassword = password
		return model.ActDatastoreUpdate, nil
	})
}

// UpdateSecurityGroups records the datastore's security groups.
func (s *Service) UpdateSecurityGroups(ctx context.Context, c Caller, id string, groups []string) (*DatastoreView, error) {
	if len(groups) == 0 {
		return nil, Invalid("security_groups", "must not be empty")
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			return nil, Invalid("security_groups", "must not repeat %s", g)
		}
		seen[g] = true
	}
	return s.mutate(ctx, c, id, false, func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (string, error) {
		d.SecurityGroups = append([]string{}, groups...)
		return "", nil
	})
}

// UpdateBackups changes how many days backups are kept. dbaasd's backup
// scheduler applies it; an engine that prunes its backups itself is given
// it by an update action.
func (s *Service) UpdateBackups(ctx context.Context, c Caller, id string, days int) (*DatastoreView, error) {
	if err := checkRetentionDays("backups.backup_retention_days", days); err != nil {
		return nil, err
	}
	return s.mutate(ctx, c, id, false, func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (string, error) {
		changed := d.BackupRetentionDays != days
		d.BackupRetentionDays = days
		if changed && s.cfg.Capabilities[typ.Engine].Retention {
			return model.ActDatastoreUpdate, nil
		}
		return "", nil
	})
}

// MaxBackupRetentionDays bounds how long backups are kept (ten years):
// far beyond any use, and far below what overflows a duration.
const MaxBackupRetentionDays = 3650

func checkRetentionDays(field string, days int) error {
	if days < 1 || days > MaxBackupRetentionDays {
		return Invalid(field, "must be between 1 and %d days, got %d", MaxBackupRetentionDays, days)
	}
	return nil
}

// SetLogPlatform enables log export to a log group ("" disables it).
func (s *Service) SetLogPlatform(ctx context.Context, c Caller, id, group string) (*DatastoreView, error) {
	if group != "" {
		if err := checkName("log_platform.log_group", group, 255); err != nil {
			return nil, err
		}
		if strings.ContainsAny(group, "/\\") || group == "." || group == ".." {
			return nil, Invalid("log_platform.log_group", "must not contain slashes or be . or ..")
		}
	}
	return s.mutate(ctx, c, id, false, func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (string, error) {
		d.LogGroup = group
		return "", nil
	})
}

// SetProtection turns protection mode on or off.
func (s *Service) SetProtection(ctx context.Context, c Caller, id string, on bool) (*DatastoreView, error) {
	return s.mutate(ctx, c, id, false, func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (string, error) {
		d.IsProtected = on
		return "", nil
	})
}

// Resize asks for a new node count, flavor or disk size.
type Resize struct {
	NodeCount *int
	FlavorID  string
	Flavor    *model.Flavor
	DiskSize  int
}

// ResizeDatastore changes the size of a datastore.
func (s *Service) ResizeDatastore(ctx context.Context, c Caller, id string, r Resize) (*DatastoreView, error) {
	if r.NodeCount == nil && r.FlavorID == "" && r.Flavor == nil && r.DiskSize == 0 {
		return nil, Invalid("resize", "give node_count, flavor_id, flavor or disk")
	}
	if err := s.checkResizeWithEngine(ctx, c, id, r); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx store.Tx) error {
		d, err := s.liveDatastore(ctx, tx, c, id, true)
		if err != nil {
			return err
		}
		if err := acceptsChange(d); err != nil {
			return err
		}
		typ, err := tx.DatastoreTypes().Get(ctx, d.TypeID)
		if err != nil {
			return err
		}
		fl, flavorID, err := s.resizedFlavor(ctx, tx, typ, d, r)
		if err != nil {
			return err
		}
		if err := s.checkLimits(typ.Engine, fl); err != nil {
			return err
		}
		nodes := d.NodeCount
		if r.NodeCount != nil {
			nodes = *r.NodeCount
			if err := s.checkNodeCount(typ.Engine, nodes, "resize.node_count"); err != nil {
				return err
			}
		}
		// The configuration in force must still fit the new flavor.
		if _, err := s.mergeConfig(ctx, tx, typ.ID, fl, nil, d.Config); err != nil {
			return err
		}
		oldU, newU := usageOf(d.Flavor, d.NodeCount), usageOf(fl, nodes)
		delta := store.Usage{Cores: newU.Cores - oldU.Cores, RAM: newU.RAM - oldU.RAM,
			DiskLocal: newU.DiskLocal - oldU.DiskLocal, DiskNetworkUltra: newU.DiskNetworkUltra - oldU.DiskNetworkUltra}
		if err := s.checkQuota(ctx, tx, c.ProjectID, delta); err != nil {
			return err
		}
		if err := s.resizeInstances(ctx, tx, c, d, nodes); err != nil {
			return err
		}
		d.Flavor, d.FlavorID, d.NodeCount = fl, flavorID, nodes
		d.Status, d.UpdatedAt = model.StatusResizing, s.stamp()
		d.Generation++
		if err := tx.Datastores().Update(ctx, d); err != nil {
			return err
		}
		_, err = s.enqueue(ctx, tx, c, d.ID, model.ActDatastoreResize, "datastore", d.ID, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetDatastore(ctx, c, id)
}

// resizedFlavor is the flavor (and its ID, "" for a custom one) that
// resize r gives datastore d, checked against d's: disks only grow and keep
// their type.
func (s *Service) resizedFlavor(ctx context.Context, tx store.Tx, typ *model.DatastoreType, d *model.Datastore, r Resize) (model.Flavor, string, error) {
	fl, flavorID := d.Flavor, d.FlavorID
	if r.FlavorID != "" || r.Flavor != nil {
		custom := r.Flavor
		if custom != nil && custom.DiskType == "" {
			custom.DiskType = d.Flavor.DiskType
		}
		var err error
		if fl, flavorID, err = s.resolveFlavor(ctx, tx, typ, r.FlavorID, custom, nil); err != nil {
			return fl, "", err
		}
		if r.FlavorID != "" {
			fl.DiskType = d.Flavor.DiskType
			fl.Disk = max(fl.Disk, d.Flavor.Disk)
		}
	}
	if r.DiskSize != 0 {
		fl.Disk = r.DiskSize
	}
	if fl.Disk < d.Flavor.Disk {
		return fl, "", Invalid("resize.disk.size", "disks only grow: %d GB is less than the current %d GB", fl.Disk, d.Flavor.Disk)
	}
	if fl.DiskType != d.Flavor.DiskType {
		return fl, "", Invalid("resize.flavor.disk_type", "the disk type cannot change (%s)", d.Flavor.DiskType)
	}
	return fl, flavorID, nil
}

// checkResizeWithEngine asks the engine, before the resize's transaction
// (it may take a while: an API server answers), whether the datastore's
// disks can grow when the resize grows them. Disks only grow, so a resize
// that does not grow them now does not later either; errors of the
// request itself are left to the transaction, which reports them.
func (s *Service) checkResizeWithEngine(ctx context.Context, c Caller, id string, r Resize) error {
	if len(s.cfg.DiskValidators) == 0 {
		return nil
	}
	d, err := s.liveDatastore(ctx, s.store, c, id, false)
	if err != nil || acceptsChange(d) != nil {
		return nil
	}
	typ, err := s.store.DatastoreTypes().Get(ctx, d.TypeID)
	if err != nil || s.cfg.DiskValidators[typ.Engine] == nil {
		return nil
	}
	fl, _, err := s.resizedFlavor(ctx, s.store, typ, d, r)
	if err != nil || fl.Disk <= d.Flavor.Disk {
		return nil
	}
	field := "resize.flavor_id"
	switch {
	case r.DiskSize != 0:
		field = "resize.disk.size"
	case r.Flavor != nil:
		field = "resize.flavor.disk"
	}
	return s.checkDiskGrowthWithEngine(ctx, typ.Engine, d.ID, field)
}

// resizeInstances adds instance records for new replicas and marks the
// highest-numbered replicas for removal.
func (s *Service) resizeInstances(ctx context.Context, tx store.Tx, c Caller, d *model.Datastore, nodes int) error {
	insts, err := tx.Instances().List(ctx, store.Filter{DatastoreID: d.ID})
	if err != nil {
		return err
	}
	live := 0
	maxIdx := -1
	for _, in := range insts {
		if in.Status != model.StatusPendingDelete {
			live++
		}
		maxIdx = max(maxIdx, in.Index)
	}
	for live < nodes {
		maxIdx++
		in := s.newInstance(c, d, maxIdx)
		if err := tx.Instances().Insert(ctx, &in); err != nil {
			return err
		}
		live++
	}
	for i := len(insts) - 1; i >= 0 && live > nodes; i-- {
		in := insts[i]
		if in.Status == model.StatusPendingDelete || in.Role == model.RoleMaster {
			continue
		}
		in.Status = model.StatusPendingDelete
		if err := tx.Instances().Update(ctx, &in); err != nil {
			return err
		}
		live--
	}
	if live > nodes {
		return Invalid("resize.node_count", "cannot remove the primary node")
	}
	return nil
}

// checkRestore validates a restore request against the source datastore.
func (s *Service) checkRestore(ctx context.Context, tx store.Tx, c Caller, typ *model.DatastoreType, r *model.Restore) error {
	if r.DatastoreID == "" {
		return Invalid("restore.datastore_id", "is required")
	}
	src, err := tx.Datastores().Get(ctx, r.DatastoreID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && src.ProjectID != c.ProjectID) {
		return Invalid("restore.datastore_id", "no datastore %s in this project", r.DatastoreID)
	}
	if err != nil {
		return err
	}
	if src.TypeID != typ.ID {
		return Invalid("restore.datastore_id", "datastore %s is of another type; a restore keeps the type", r.DatastoreID)
	}
	if !src.AllowRestore {
		if !s.cfg.Capabilities[typ.Engine].Backups {
			return Invalid("restore.datastore_id", "%s datastores have no backups on this deployment, so none can be restored", typ.Engine)
		}
		return Invalid("restore.datastore_id", "datastore %s has no backup to restore from yet", r.DatastoreID)
	}
	if r.TargetTime == nil {
		return nil
	}
	// The window: from the oldest backup to the newest archived point (now
	// for a live datastore), in the API's precision (whole seconds, UTC).
	w, ok, err := store.WindowOf(ctx, s.store, src, s.now())
	if err != nil {
		return err
	}
	from, to := w.From.UTC(), w.To.UTC().Truncate(time.Second)
	if f := from.Truncate(time.Second); !f.Equal(from) {
		from = f.Add(time.Second)
	}
	if !ok || from.After(to) {
		return Invalid("restore.datastore_id", "datastore %s has no backup to restore from yet", r.DatastoreID)
	}
	if t := r.TargetTime.UTC(); t.Before(from) || t.After(to) {
		const layout = "2006-01-02T15:04:05"
		return Invalid("restore.target_time", "must be between %s and %s", from.Format(layout), to.Format(layout))
	}
	return nil
}
