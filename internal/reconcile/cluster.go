package reconcile

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// state is everything recorded about one datastore.
type state struct {
	ds    *model.Datastore
	typ   *model.DatastoreType
	insts []model.Instance
	drv   engine.Driver
}

func (r *Reconciler) load(ctx context.Context, q store.Tx, id string) (*state, error) {
	ds, err := q.Datastores().Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load datastore %s: %w", id, err)
	}
	typ, err := q.DatastoreTypes().Get(ctx, ds.TypeID)
	if err != nil {
		return nil, fmt.Errorf("load datastore type: %w", err)
	}
	insts, err := q.Instances().List(ctx, store.Filter{"datastore_id": id})
	if err != nil {
		return nil, err
	}
	drv := r.drivers[typ.Engine]
	if drv == nil {
		return nil, fmt.Errorf("no driver for engine %s on this dbaasd: %w", typ.Engine, errPermanent)
	}
	return &state{ds: ds, typ: typ, insts: insts, drv: drv}, nil
}

// ClusterDir is where a datastore's servers keep their files.
func ClusterDir(dataDir, datastoreID string) string {
	return filepath.Join(dataDir, "clusters", datastoreID)
}

func hostname(ds *model.Datastore, in *model.Instance) string {
	return fmt.Sprintf("node-%d-%s", in.Index, ds.ID[:8])
}

// allocate gives every instance (and the pooler) of a datastore an
// address and a port, persisted before any server starts, so that a
// crash never leaves two clusters wanting one port.
func (r *Reconciler) allocate(ctx context.Context, id string) error {
	return r.store.InTx(ctx, func(tx store.Tx) error {
		st, err := r.load(ctx, tx, id)
		if err != nil {
			return err
		}
		for i := range st.insts {
			in := &st.insts[i]
			if in.Port != 0 || in.Status == model.StatusPendingDelete {
				continue
			}
			port, err := tx.AllocatePort(ctx, r.cfg.EngineHost, r.cfg.PortMin, r.cfg.PortMax, id, in.ID, r.portFree)
			if err != nil {
				return err
			}
			in.Host, in.Port, in.Hostname = r.cfg.EngineHost, port, hostname(st.ds, in)
			if err := tx.Instances().Update(ctx, in); err != nil {
				return err
			}
		}
		if st.ds.Pooler != nil && st.ds.PoolerPort == 0 {
			port, err := tx.AllocatePort(ctx, r.cfg.EngineHost, r.cfg.PortMin, r.cfg.PortMax, id, "pooler:"+id, r.portFree)
			if err != nil {
				return err
			}
			st.ds.PoolerPort = port
			return tx.Datastores().Update(ctx, st.ds)
		}
		return nil
	})
}

func (r *Reconciler) portFree(p int) bool { return proc.PortFree(r.cfg.EngineHost, p) }

// cluster builds the driver's view of a datastore from desired state.
// Instances marked for removal are left out, so Ensure removes them.
func (r *Reconciler) cluster(st *state) *engine.Cluster {
	dir := ClusterDir(r.cfg.DataDir, st.ds.ID)
	c := &engine.Cluster{
		ID: st.ds.ID, Engine: st.typ.Engine, Version: st.typ.Version, Dir: dir,
		Flavor:        engine.Flavor{VCPUs: st.ds.Flavor.VCPUs, RAMMB: st.ds.Flavor.RAM, DiskGB: st.ds.Flavor.Disk},
		Config:        copyMap(st.ds.Config),
		Firewall:      append([]string{}, st.ds.Firewall...),
		AdminPassword: st.ds.AdminPassword, Password: st.ds.RedisPassword,
	}
	for _, in := range st.insts {
		if in.Status == model.StatusPendingDelete {
			continue
		}
		c.Nodes = append(c.Nodes, engine.Node{
			ID: in.ID, Index: in.Index, Role: in.Role, Host: in.Host, Port: in.Port, FloatingIP: in.FloatingIP,
			Dir: filepath.Join(dir, "nodes", in.ID[:8]),
		})
	}
	if r.cfg.ArchiveDir != nil {
		c.ArchiveDir = r.cfg.ArchiveDir(st.ds.ID)
	}
	if st.ds.Pooler != nil && st.ds.PoolerPort != 0 {
		host := r.cfg.EngineHost
		if m := c.Master(); m != nil {
			host = m.Host
		}
		c.Pooler = &engine.Pooler{Mode: st.ds.Pooler.Mode, Size: st.ds.Pooler.Size, Host: host, Port: st.ds.PoolerPort}
	}
	return c
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
