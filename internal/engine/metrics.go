package engine

import "context"

// Metric names drivers report in NodeSample.Values and DatabaseSample.Values.
//
// A name ending in "_total" is a counter: a cumulative value since the
// server started (or its statistics were reset), which only grows. Readers
// turn counters into rates; a counter that went down means a reset. Every
// other name is a gauge: a value at the time of the sample. Drivers may
// report engine-specific names beside these, following the same rule.
const (
	MetricDiskUsedBytes       = "disk_used_bytes"       // gauge: data on disk
	MetricConnections         = "connections"           // gauge: client connections (dbaasd's own excluded)
	MetricCommits             = "commits_total"         // counter: committed transactions
	MetricRollbacks           = "rollbacks_total"       // counter: rolled back transactions
	MetricRowsRead            = "rows_read_total"       // counter: rows read by queries
	MetricRowsWritten         = "rows_written_total"    // counter: rows inserted, updated or deleted
	MetricCacheHits           = "cache_hits_total"      // counter: reads served from memory
	MetricCacheMisses         = "cache_misses_total"    // counter: reads that went to disk (or missed)
	MetricReplicationLagBytes = "replication_lag_bytes" // gauge: how far a replica is behind its primary
	MetricSizeBytes           = "size_bytes"            // gauge: size of one database
)

// NodeSample is what a driver measured on one node. A node that is down
// has Up false and usually no values.
type NodeSample struct {
	NodeID string
	// Up is true when the server answered the driver's queries.
	Up bool
	// PID is the server process (0 when it does not run), so that the
	// caller can measure its CPU and memory use.
	PID int
	// Values are the measurements by metric name (see the Metric* names).
	Values map[string]float64
}

// DatabaseSample is what a driver measured of one database (or keyspace,
// or topic: whatever the engine's unit of data is), on the node that
// serves it as primary.
type DatabaseSample struct {
	Name   string
	NodeID string // the node it was measured on
	Values map[string]float64
}

// Sample is one measurement of a whole cluster.
type Sample struct {
	Nodes     []NodeSample
	Databases []DatabaseSample
}

// MetricsSampler is implemented by drivers that can measure their
// clusters. Sample must be read-only, bounded by ctx, and cope with nodes
// that are down: it reports them with Up false rather than failing; an
// error means nothing could be measured at all.
type MetricsSampler interface {
	Sample(ctx context.Context, c *Cluster) (Sample, error)
}
