package telemetry

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/layout"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// ClusterFunc returns the driver's view of a recorded datastore and its
// engine's driver (in dbaasd: reconcile.Reconciler.ClusterOf, so that
// drivers find their servers exactly where the reconciler put them).
type ClusterFunc func(ctx context.Context, datastoreID string) (*engine.Cluster, engine.Driver, error)

// target is a datastore with what telemetry needs to reach its servers.
type target struct {
	ds      model.Datastore
	engine  string
	insts   map[string]model.Instance // by ID
	cluster *engine.Cluster
	drv     engine.Driver
}

// load returns the cluster of a datastore with its instances.
func (s *Service) load(ctx context.Context, ds *model.Datastore) (*target, error) {
	c, drv, err := s.cfg.Cluster(ctx, ds.ID)
	if err != nil {
		return nil, fmt.Errorf("cluster of %s: %w", ds.ID, err)
	}
	insts, err := s.store.Instances().List(ctx, store.Filter{DatastoreID: ds.ID})
	if err != nil {
		return nil, fmt.Errorf("instances of %s: %w", ds.ID, err)
	}
	t := &target{ds: *ds, engine: c.Engine, insts: map[string]model.Instance{}, cluster: c, drv: drv}
	for _, in := range insts {
		t.insts[in.ID] = in
	}
	return t, nil
}

// clusterFromStore is the default ClusterFunc: the layout of datastores
// in DataDir (layout.Layout) built from the store, with the drivers given
// to New. dbaasd passes the reconciler's own ClusterOf instead.
func (s *Service) clusterFromStore(ctx context.Context, id string) (*engine.Cluster, engine.Driver, error) {
	ds, err := s.store.Datastores().Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	typ, err := s.store.DatastoreTypes().Get(ctx, ds.TypeID)
	if err != nil {
		return nil, nil, fmt.Errorf("datastore type: %w", err)
	}
	insts, err := s.store.Instances().List(ctx, store.Filter{DatastoreID: id})
	if err != nil {
		return nil, nil, err
	}
	drv := s.drivers[typ.Engine]
	if drv == nil {
		return nil, nil, fmt.Errorf("no driver for engine %s", typ.Engine)
	}
	return layout.Layout{DataDir: s.cfg.DataDir}.Cluster(ds, typ, insts), drv, nil
}

// address is how an instance is reached: host:port.
func address(in model.Instance) string {
	return net.JoinHostPort(in.Host, strconv.Itoa(in.Port))
}
