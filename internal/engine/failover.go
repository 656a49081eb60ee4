package engine

import "time"

// Failover is implemented by drivers whose clusters change primary when
// the reconciler moves the MASTER role to another node in Cluster.Nodes:
// Ensure then promotes the new master and makes the others (the old
// master included, once it is back) follow it. Engines that elect their
// own primary (Redis with Sentinel) or have a single node do not
// implement it; the reconciler then only records the roles it observes.
type Failover interface {
	// FailoverSafe reports whether promoting the most advanced replica
	// loses no acknowledged write when the replicas observed are
	// reachable (the driver runs synchronous or semi-synchronous
	// replication for clusters with replicas).
	FailoverSafe(c *Cluster) bool
}

// SelfFailover is implemented by drivers whose engine elects a new primary
// by itself (Redis with Sentinel). When a primary stops answering, the
// reconciler waits FailoverGrace before it repairs the node, so that a
// restart of the old primary (with older data) does not pre-empt the
// engine's election and wipe the replicas' newer data.
type SelfFailover interface {
	FailoverGrace(c *Cluster) time.Duration
}
