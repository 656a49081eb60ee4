package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// DiskSpec is the disk part of a create request.
type DiskSpec struct {
	Size int
	Type string
}

// PoolerSpec is a pooler request; zero fields keep their current value.
type PoolerSpec struct {
	Mode string
	Size int
}

// DatastoreCreate is what a project asks for when it creates a datastore.
type DatastoreCreate struct {
	ProjectID           string
	Name                string
	TypeID              string
	SubnetID            string
	FlavorID            string
	Flavor              *model.Flavor
	Disk                *DiskSpec
	NodeCount           int
	Config              map[string]any
	Pooler              *PoolerSpec
	RedisPassword       string
	Restore             *model.Restore
	SecurityGroups      []string
	BackupRetentionDays *int
	FloatingIPs         *model.FloatingIPs
	LogGroup            string
}

// DatastoreView is a datastore with everything the API shows of it.
type DatastoreView struct {
	model.Datastore
	Engine         string
	Instances      []model.Instance
	Connection     map[string]string
	DatabasesCount int
	TopicsCount    int
}

// Default pooler of PostgreSQL datastores.
const (
	defaultPoolerMode = "transaction"
	defaultPoolerSize = 30
)

var poolerModes = map[string]bool{"session": true, "transaction": true, "statement": true}

// datastoreType loads a datastore type or fails on the named field.
func datastoreType(ctx context.Context, tx store.Tx, id, field string) (*model.DatastoreType, error) {
	t, err := tx.DatastoreTypes().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Invalid(field, "no datastore type %s (list them at /v1/datastore-types)", id)
	}
	return t, err
}

// resolveFlavor turns flavor_id or a custom flavor (plus disk) into the
// node size, checked against the engine's limits.
func (s *Service) resolveFlavor(ctx context.Context, tx store.Tx, typ *model.DatastoreType, flavorID string,
	custom *model.Flavor, disk *DiskSpec) (model.Flavor, string, error) {
	var fl model.Flavor
	switch {
	case flavorID != "":
		spec, err := tx.Flavors().Get(ctx, flavorID)
		if errors.Is(err, store.ErrNotFound) {
			return fl, "", Invalid("flavor_id", "no flavor %s (list them at /v1/flavors)", flavorID)
		}
		if err != nil {
			return fl, "", err
		}
		if !contains(spec.DatastoreTypeIDs, typ.ID) {
			return fl, "", Invalid("flavor_id", "flavor %s is not available for datastore type %s %s", flavorID, typ.Engine, typ.Version)
		}
		fl = model.Flavor{VCPUs: spec.VCPUs, RAM: spec.RAM, Disk: spec.Disk, DiskType: catalog.DiskLocal}
		if custom != nil && custom.DiskType != "" {
			fl.DiskType = custom.DiskType
		}
	case custom != nil:
		fl = *custom
		if fl.DiskType == "" {
			fl.DiskType = catalog.DiskLocal
		}
	default:
		return fl, "", Invalid("flavor_id", "give flavor_id or flavor")
	}
	if disk != nil {
		if disk.Size > 0 {
			fl.Disk = disk.Size
		}
		if disk.Type != "" {
			fl.DiskType = disk.Type
		}
	}
	if err := s.checkLimits(typ.Engine, fl); err != nil {
		return fl, "", err
	}
	return fl, flavorID, nil
}

func (s *Service) checkLimits(engine string, fl model.Flavor) error {
	l := catalog.LimitsFor(engine, s.cfg.Machine)
	if fl.VCPUs < l.VCPUsMin || fl.VCPUs > l.VCPUsMax {
		return Invalid("flavor.vcpus", "must be between %d and %d for %s, got %d", l.VCPUsMin, l.VCPUsMax, engine, fl.VCPUs)
	}
	if fl.RAM < l.RAMMin || fl.RAM > l.RAMMax {
		return Invalid("flavor.ram", "must be between %d and %d MB for %s, got %d", l.RAMMin, l.RAMMax, engine, fl.RAM)
	}
	lo, hi := l.DiskLocalMin, l.DiskLocalMax
	switch fl.DiskType {
	case catalog.DiskLocal:
	case catalog.DiskNetworkUltra:
		lo, hi = l.DiskNetworkUltraMin, l.DiskNetworkUltraMax
	default:
		return Invalid("flavor.disk_type", "must be %s or %s, got %q", catalog.DiskLocal, catalog.DiskNetworkUltra, fl.DiskType)
	}
	if fl.Disk < lo || fl.Disk > hi {
		return Invalid("flavor.disk", "must be between %d and %d GB for %s disks, got %d", lo, hi, fl.DiskType, fl.Disk)
	}
	return nil
}

func (s *Service) checkNodeCount(engine string, n int, field string) error {
	l := catalog.LimitsFor(engine, s.cfg.Machine)
	if !catalog.NodeCountAllowed(engine, l, n) {
		if engine == "mysql" && n == 2 {
			return Invalid(field, "a synchronous MySQL cluster has 1 or 3 nodes, not 2")
		}
		return Invalid(field, "must be between %d and %d for %s, got %d", l.NodesMin, l.NodesMax, engine, n)
	}
	return nil
}

func checkName(field, name string, maxLen int) error {
	if strings.TrimSpace(name) == "" {
		return Invalid(field, "must not be empty")
	}
	if len(name) > maxLen {
		return Invalid(field, "must be at most %d characters", maxLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// CheckRedisPassword validates a Redis password: 8 to 128 characters with a
// lower-case letter, an upper-case letter and a digit, and no whitespace,
// quotes or backslashes.
func CheckRedisPassword(field, pw string) error {
	if len(pw) < 8 || len(pw) > 128 {
		return Invalid(field, "must be 8 to 128 characters long")
	}
	var lower, upper, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsSpace(r) || r == '"' || r == '\'' || r == '\\' || r > unicode.MaxASCII || unicode.IsControl(r):
			return Invalid(field, "must not contain whitespace, quotes, backslashes or non-ASCII characters")
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	if !lower || !upper || !digit {
		return Invalid(field, "must contain a lower-case letter, an upper-case letter and a digit")
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// usageOf is what a datastore of this size uses, for quotas.
func usageOf(fl model.Flavor, nodes int) store.Usage {
	u := store.Usage{Datastores: 1, Cores: int64(fl.VCPUs * nodes), RAM: int64(fl.RAM * nodes)}
	if fl.DiskType == catalog.DiskNetworkUltra {
		u.DiskNetworkUltra = int64(fl.Disk * nodes)
	} else {
		u.DiskLocal = int64(fl.Disk * nodes)
	}
	return u
}

// CreateDatastore records a new datastore and the action that builds it.
func (s *Service) CreateDatastore(ctx context.Context, c Caller, in DatastoreCreate) (*DatastoreView, error) {
	if err := checkBodyProject(c, in.ProjectID); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name, 255); err != nil {
		return nil, err
	}
	if in.SubnetID == "" {
		// dbaasd has no networks of its own; a project's datastores share one.
		in.SubnetID = uuid.NewSHA1(uuid.NameSpaceOID, []byte("subnet/"+c.ProjectID)).String()
	} else if _, err := uuid.Parse(in.SubnetID); err != nil {
		return nil, Invalid("subnet_id", "must be a UUID, got %q", in.SubnetID)
	}
	if err := s.checkCreateConfig(ctx, in); err != nil {
		return nil, err
	}
	var out *DatastoreView
	err := s.inTx(ctx, func(tx store.Tx) error {
		typ, err := datastoreType(ctx, tx, in.TypeID, "type_id")
		if err != nil {
			return err
		}
		caps := s.cfg.Capabilities[typ.Engine]
		fl, flavorID, err := s.resolveFlavor(ctx, tx, typ, in.FlavorID, in.Flavor, in.Disk)
		if err != nil {
			return err
		}
		if err := s.checkNodeCount(typ.Engine, in.NodeCount, "node_count"); err != nil {
			return err
		}
		d := &model.Datastore{
			Base: s.base(c), Name: in.Name, TypeID: typ.ID, SubnetID: in.SubnetID, FlavorID: flavorID, Flavor: fl,
			NodeCount: in.NodeCount, Status: model.StatusPendingCreate, Enabled: true, BackupRetentionDays: 7,
			Firewall: []string{}, SecurityGroups: append([]string{}, in.SecurityGroups...), LogGroup: in.LogGroup,
			AdminPassword: secret.Password(32), Generation: 1,
		}
		if in.BackupRetentionDays != nil {
			if err := checkRetentionDays("backup_retention_days", *in.BackupRetentionDays); err != nil {
				return err
			}
			d.BackupRetentionDays = *in.BackupRetentionDays
		}
		if d.Config, err = s.mergeConfig(ctx, tx, typ.ID, fl, nil, in.Config); err != nil {
			return err
		}
		if err := s.applyPooler(d, caps, in.Pooler, "pooler"); err != nil {
			return err
		}
		if caps.Password {
			if in.RedisPassword == "" {
				return Invalid("redis_password", "is required for %s datastores", typ.Engine)
			}
			if err := CheckRedisPassword("redis_password", in.RedisPassword); err != nil {
				return err
			}
			d.RedisPassword = in.RedisPassword
		} else if in.RedisPassword != "" {
			return Invalid("redis_password", "applies only to Redis datastores")
		}
		if in.Restore != nil {
			if err := s.checkRestore(ctx, tx, c, typ, in.Restore); err != nil {
				return err
			}
			d.Restore = in.Restore
		}
		if err := s.checkQuota(ctx, tx, c.ProjectID, usageOf(fl, in.NodeCount)); err != nil {
			return err
		}
		if err := tx.Datastores().Insert(ctx, d); err != nil {
			return err
		}
		insts := make([]model.Instance, 0, in.NodeCount)
		for i := 0; i < in.NodeCount; i++ {
			insts = append(insts, s.newInstance(c, d, i))
		}
		if in.FloatingIPs != nil {
			if err := s.assignInitialFloatingIPs(ctx, tx, insts, *in.FloatingIPs); err != nil {
				return err
			}
			d.FloatingIPs = *in.FloatingIPs
			if err := tx.Datastores().Update(ctx, d); err != nil {
				return err
			}
		}
		for i := range insts {
			if err := tx.Instances().Insert(ctx, &insts[i]); err != nil {
				return err
			}
		}
		if _, err := s.enqueue(ctx, tx, c, d.ID, model.ActDatastoreCreate, "datastore", d.ID, nil); err != nil {
			return err
		}
		if d.Restore != nil {
			if err := s.copyRestoredObjects(ctx, tx, c, d.Restore.DatastoreID, d); err != nil {
				return err
			}
		}
		out = &DatastoreView{Datastore: *d, Engine: typ.Engine, Instances: insts, Connection: map[string]string{}}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkCreateConfig checks the configuration of a new datastore with its
// engine, before (and outside) the transaction that records it; the
// transaction checks the catalog's rules again.
func (s *Service) checkCreateConfig(ctx context.Context, in DatastoreCreate) error {
	if len(in.Config) == 0 {
		return nil
	}
	typ, err := datastoreType(ctx, s.store, in.TypeID, "type_id")
	if err != nil {
		return err
	}
	var custom *model.Flavor
	if in.Flavor != nil {
		f := *in.Flavor
		custom = &f
	}
	fl, _, err := s.resolveFlavor(ctx, s.store, typ, in.FlavorID, custom, in.Disk)
	if err != nil {
		return err
	}
	cfg, err := s.mergeConfig(ctx, s.store, typ.ID, fl, nil, in.Config)
	if err != nil {
		return err
	}
	return s.checkConfigWithEngine(ctx, typ, fl, cfg, in.Config)
}

func (s *Service) newInstance(c Caller, d *model.Datastore, i int) model.Instance {
	role := model.RoleReplica
	if i == 0 {
		role = model.RoleMaster
	}
	return model.Instance{ID: newID(), ProjectID: c.ProjectID, DatastoreID: d.ID, Index: i, Role: role,
		RoleName: strings.ToLower(role), Status: model.StatusPendingCreate, AvailabilityZone: s.cfg.Region,
		CreatedAt: s.stamp()}
}

// applyPooler validates a pooler request and sets it on d. PostgreSQL
// datastores always have a pooler (transaction mode, 30 connections unless
// asked otherwise); other engines have none.
func (s *Service) applyPooler(d *model.Datastore, caps Capabilities, p *PoolerSpec, field string) error {
	if !caps.Pooler {
		if p != nil && (p.Mode != "" || p.Size != 0) {
			return Invalid(field, "a connection pooler is available only for PostgreSQL datastores")
		}
		d.Pooler = nil
		return nil
	}
	cur := model.Pooler{Mode: defaultPoolerMode, Size: defaultPoolerSize}
	if d.Pooler != nil {
		cur = *d.Pooler
	}
	if p != nil {
		if p.Mode != "" {
			if !poolerModes[p.Mode] {
				return Invalid(field+".mode", "must be session, transaction or statement, got %q", p.Mode)
			}
			cur.Mode = p.Mode
		}
		if p.Size != 0 {
			if p.Size < 1 || p.Size > 500 {
				return Invalid(field+".size", "must be between 1 and 500, got %d", p.Size)
			}
			cur.Size = p.Size
		}
	}
	d.Pooler = &cur
	return nil
}

// GetDatastore returns one of the caller's datastores (deleted ones too).
func (s *Service) GetDatastore(ctx context.Context, c Caller, id string) (*DatastoreView, error) {
	d, err := owned(ctx, s.store.DatastoresWithoutSecrets(), c, id, "datastore", dsProject)
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, c, []model.Datastore{*d})
	if err != nil {
		return nil, err
	}
	return &views[0], nil
}

// ListDatastores lists the caller's datastores matching f. Deleted
// datastores are listed only when f asks for them (Deleted: Yes).
func (s *Service) ListDatastores(ctx context.Context, c Caller, f store.Filter) ([]DatastoreView, error) {
	f = scoped(c, f)
	if f.Deleted == store.Any {
		f.Deleted = store.No
	}
	list, err := s.store.DatastoresWithoutSecrets().List(ctx, f)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, c, list)
}

// CountDatastores counts the caller's datastores by engine.
func (s *Service) CountDatastores(ctx context.Context, c Caller, f store.Filter) (map[string]int, error) {
	list, err := s.ListDatastores(ctx, c, f)
	if err != nil {
		return nil, err
	}
	out := map[string]int{"postgresql": 0, "mysql_sync": 0, "mysql_semisync": 0, "redis": 0, "kafka": 0}
	for _, d := range list {
		switch d.Engine {
		case "mysql":
			out["mysql_sync"]++
		case "mysql_native":
			out["mysql_semisync"]++
		default:
			out[d.Engine]++
		}
	}
	return out, nil
}

// views adds instances, connection addresses and counts to datastores, with
// a fixed number of queries whatever the number of datastores.
func (s *Service) views(ctx context.Context, c Caller, list []model.Datastore) ([]DatastoreView, error) {
	out := make([]DatastoreView, 0, len(list))
	if len(list) == 0 {
		return out, nil
	}
	engines, err := s.engineOf(ctx)
	if err != nil {
		return nil, err
	}
	f := store.Filter{ProjectID: c.ProjectID}
	if len(list) == 1 {
		f = store.Filter{DatastoreID: list[0].ID}
	}
	insts, err := s.store.Instances().List(ctx, f)
	if err != nil {
		return nil, err
	}
	dbCount, err := s.store.Databases().CountBy(ctx, f, "datastore_id")
	if err != nil {
		return nil, err
	}
	topicCount, err := s.store.Topics().CountBy(ctx, f, "datastore_id")
	if err != nil {
		return nil, err
	}
	byDS := map[string][]model.Instance{}
	for _, in := range insts {
		byDS[in.DatastoreID] = append(byDS[in.DatastoreID], in)
	}
	for _, d := range list {
		v := view(d, engines[d.TypeID], byDS[d.ID])
		v.DatabasesCount, v.TopicsCount = dbCount[d.ID], topicCount[d.ID]
		out = append(out, v)
	}
	return out, nil
}

func view(d model.Datastore, engine string, insts []model.Instance) DatastoreView {
	sort.Slice(insts, func(i, j int) bool { return insts[i].Index < insts[j].Index })
	if insts == nil {
		insts = []model.Instance{}
	}
	return DatastoreView{Datastore: d, Engine: engine, Instances: insts, Connection: Connection(&d, insts)}
}

// Connection returns the addresses a client uses, by role: "master",
// "replica-1", "replica-2", … and "pooler".
func Connection(d *model.Datastore, insts []model.Instance) map[string]string {
	out := map[string]string{}
	replica := 0
	for _, in := range insts {
		if in.Port == 0 || in.Host == "" || in.Status == model.StatusPendingDelete {
			continue
		}
		addr := hostPort(in.Host, in.Port)
		if in.Role == model.RoleMaster {
			out["master"] = addr
		} else {
			replica++
			out[fmt.Sprintf("replica-%d", replica)] = addr
		}
	}
	if d.Pooler != nil && d.PoolerPort != 0 {
		for _, in := range insts {
			if in.Role == model.RoleMaster && in.Host != "" {
				out["pooler"] = hostPort(in.Host, d.PoolerPort)
			}
		}
	}
	return out
}

func hostPort(host string, port int) string {
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// UpdateDatastoreName renames a datastore.
func (s *Service) UpdateDatastoreName(ctx context.Context, c Caller, id, name string) (*DatastoreView, error) {
	if err := checkName("datastore.name", name, 255); err != nil {
		return nil, err
	}
	return s.mutate(ctx, c, id, false, func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (string, error) {
		d.Name = name
		return "", nil
	})
}

// mutate runs a change of a datastore in one transaction: it loads the
// caller's live datastore (locked), lets change modify it, stores it, and,
// when change names an action, records it. needActive refuses the change
// while another change is under way (see acceptsChange).
func (s *Service) mutate(ctx context.Context, c Caller, id string, needActive bool,
	change func(tx store.Tx, d *model.Datastore, typ *model.DatastoreType) (string, error)) (*DatastoreView, error) {
	err := s.inTx(ctx, func(tx store.Tx) error {
		d, err := s.liveDatastore(ctx, tx, c, id, true)
		if err != nil {
			return err
		}
		if needActive {
			if err := acceptsChange(d); err != nil {
				return err
			}
		}
		typ, err := tx.DatastoreTypes().Get(ctx, d.TypeID)
		if err != nil {
			return fmt.Errorf("datastore type: %w", err)
		}
		action, err := change(tx, d, typ)
		if err != nil {
			return err
		}
		d.UpdatedAt = s.stamp()
		if action != "" {
			d.Generation++
			if acceptsChange(d) == nil {
				d.Status = model.StatusPendingUpdate
				if action == model.ActDatastoreResize {
					d.Status = model.StatusResizing
				}
			}
			if _, err := s.enqueue(ctx, tx, c, d.ID, action, "datastore", d.ID, nil); err != nil {
				return err
			}
		}
		return tx.Datastores().Update(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return s.GetDatastore(ctx, c, id)
}

// DeleteDatastore marks a datastore for deletion; the reconciler stops its
// servers and removes its data (keeping backups for their retention).
func (s *Service) DeleteDatastore(ctx context.Context, c Caller, id string) error {
	return s.inTx(ctx, func(tx store.Tx) error {
		d, err := s.liveDatastore(ctx, tx, c, id, true)
		if err != nil {
			return err
		}
		if d.IsProtected {
			return Conflict("datastore_id", "datastore %s is protected; disable protection mode before deleting it", id)
		}
		if d.Status == model.StatusPendingDelete {
			return Conflict("datastore_id", "datastore %s is already being deleted", id)
		}
		d.Status, d.UpdatedAt = model.StatusPendingDelete, s.stamp()
		d.Generation++
		if err := tx.Datastores().Update(ctx, d); err != nil {
			return err
		}
		_, err = s.enqueue(ctx, tx, c, d.ID, model.ActDatastoreDelete, "datastore", d.ID, nil)
		return err
	})
}
