package postgres

import "github.com/dbaasd/dbaasd/internal/engine"

var _ engine.Failover = (*Driver)(nil)

// FailoverSafe implements engine.Failover: clusters with replicas commit
// synchronously to at least one of them (synchronous_standby_names = ANY 1),
// so when every replica is reachable the most advanced one holds every
// acknowledged commit.
func (d *Driver) FailoverSafe(c *engine.Cluster) bool { return len(c.Nodes) > 1 }
