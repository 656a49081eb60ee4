package mysql

import "github.com/dbaasd/dbaasd/internal/engine"

var _ engine.Failover = (*Driver)(nil)

// FailoverSafe implements engine.Failover. Semi-synchronous clusters ack a
// commit only once a replica has it (until the semi-sync timeout turns the
// primary asynchronous, which the primary reports); Galera nodes are all
// primaries with the same data, so moving the MASTER label is always safe.
func (d *Driver) FailoverSafe(c *engine.Cluster) bool { return len(c.Nodes) > 1 }
