package telemetry

import (
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Names the collector adds to what drivers report (see docs/metrics.md).
const (
	MetricUp          = "up"                // gauge: 1 when the server answered, else 0
	MetricCPUSeconds  = "cpu_seconds_total" // counter: CPU time of the server's processes
	MetricMemoryBytes = "memory_bytes"      // gauge: memory of the server's processes (PSS)
)

// Names the API derives from stored counters.
const (
	MetricCPUPercent    = "cpu_percent"     // rate of cpu_seconds_total × 100
	MetricCacheHitRatio = "cache_hit_ratio" // Δhits / (Δhits + Δmisses)
)

// isCounter reports whether a stored name is a counter (see engine's
// naming rule).
func isCounter(name string) bool { return strings.HasSuffix(name, "_total") }

// rateName is the API name of the rate of a counter and the factor that
// scales it: "x_total" becomes "x_per_second"; CPU seconds become a
// percentage of one core.
func rateName(counter string) (string, float64) {
	if counter == MetricCPUSeconds {
		return MetricCPUPercent, 100
	}
	return strings.TrimSuffix(counter, "_total") + "_per_second", 1
}

// promName is the Prometheus name of a stored metric of a kind.
func promName(kind, name string) string {
	if kind == store.SampleDatabase {
		return "dbaas_database_" + name
	}
	return "dbaas_" + name
}

// help describes the metrics every engine shares; others get a generic
// description.
var help = map[string]string{
	MetricUp:                         "1 when the server answered dbaasd's last sample, else 0.",
	MetricCPUSeconds:                 "CPU time used by the server's processes, in seconds.",
	MetricMemoryBytes:                "Memory resident in the server's processes (proportional set size), in bytes.",
	engine.MetricDiskUsedBytes:       "Data on disk, in bytes.",
	engine.MetricConnections:         "Client connections.",
	engine.MetricCommits:             "Committed transactions.",
	engine.MetricRollbacks:           "Rolled back transactions.",
	engine.MetricRowsRead:            "Rows read by queries.",
	engine.MetricRowsWritten:         "Rows inserted, updated or deleted.",
	engine.MetricCacheHits:           "Reads served from memory.",
	engine.MetricCacheMisses:         "Reads that missed memory.",
	engine.MetricReplicationLagBytes: "How far a replica is behind its primary, in bytes.",
	engine.MetricSizeBytes:           "Size of the database, in bytes.",
}

func helpOf(name string) string {
	if h, ok := help[name]; ok {
		return h
	}
	if isCounter(name) {
		return "Engine counter " + name + " (see docs/metrics.md)."
	}
	return "Engine gauge " + name + " (see docs/metrics.md)."
}
