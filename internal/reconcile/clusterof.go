package reconcile

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// ClusterOf returns the driver's view of a recorded datastore (as the
// reconciler converges it) and its engine's driver, for other parts of
// dbaasd that run engine operations on a cluster (backups). It reads the
// store only.
func (r *Reconciler) ClusterOf(ctx context.Context, datastoreID string) (*engine.Cluster, engine.Driver, error) {
	st, err := r.load(ctx, r.store, datastoreID)
	if err != nil {
		return nil, nil, err
	}
	return r.cluster(st), st.drv, nil
}
