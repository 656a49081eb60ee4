package reconcile

import (
	"context"
	"fmt"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"
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
	insts, err := q.Instances().List(ctx, store.Filter{DatastoreID: id})
	if err != nil {
		return nil, err
	}
	drv := r.drivers[typ.Engine]
	if drv == nil {
		return nil, fmt.Errorf("no driver for engine %s on this dbaasd: %w", typ.Engine, errPermanent)
	}
	return &state{ds: ds, typ: typ, insts: insts, drv: drv}, nil
}

func hostname(ds *model.Datastore, in *model.Instance) string {
	return fmt.Sprintf("node-%d-%s", in.Index, ds.ID[:8])
}

// allocate gives every instance (and the pooler) of a datastore an
// address and a port, and every further port its engine names
// (engine.PortNeeder), persisted before any server starts, so that a crash
// never leaves two clusters wanting one port. It returns the further ports
// by instance ID and name.
func (r *Reconciler) allocate(ctx context.Context, id string) (map[string]map[string]int, error) {
	var extra map[string]map[string]int
	err := r.store.InTx(ctx, func(tx store.Tx) error {
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
		if pn, ok := st.drv.(engine.PortNeeder); ok {
			names := pn.NodePorts(r.cluster(st))
			extra = map[string]map[string]int{}
			for _, in := range st.insts {
				if in.Status == model.StatusPendingDelete || len(names) == 0 {
					continue
				}
				extra[in.ID] = map[string]int{}
				for _, name := range names {
					// The owner "<instance>/<name>" is released with the
					// instance (ReleasePorts).
					port, err := tx.AllocatePort(ctx, in.Host, r.cfg.PortMin, r.cfg.PortMax, id, in.ID+"/"+name, r.portFree)
					if err != nil {
						return err
					}
					extra[in.ID][name] = port
				}
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
	return extra, err
}

func (r *Reconciler) portFree(p int) bool {
	if r.cfg.PortFree != nil {
		return r.cfg.PortFree(r.cfg.EngineHost, p)
	}
	return proc.PortFree(r.cfg.EngineHost, p)
}

// Layout is where the reconciler puts datastores' files.
func (r *Reconciler) Layout() layout.Layout {
	return layout.Layout{DataDir: r.cfg.DataDir, RunDir: r.cfg.RunDir, EngineHost: r.cfg.EngineHost, ArchiveDir: r.cfg.ArchiveDir}
}

// cluster builds the driver's view of a datastore from desired state.
// Instances marked for removal are left out, so Ensure removes them.
func (r *Reconciler) cluster(st *state) *engine.Cluster {
	return r.Layout().Cluster(st.ds, st.typ, st.insts)
}
