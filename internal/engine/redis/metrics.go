package redis

import (
	"context"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds the queries to one server during Sample.
const sampleTimeout = 3 * time.Second

// Redis-specific metric names (beside engine.Metric*).
const (
	metricUsedMemory  = "used_memory_bytes"  // gauge: memory Redis allocated for data (used_memory)
	metricKeys        = "keys"               // gauge: keys (per node: all databases)
	metricExpires     = "expires"            // gauge: keys with an expiry
	metricCommands    = "commands_total"     // counter: commands processed
	metricExpiredKeys = "expired_keys_total" // counter: keys expired
	metricEvictedKeys = "evicted_keys_total" // counter: keys evicted for maxmemory
	metricNetIn       = "net_input_bytes_total"
	metricNetOut      = "net_output_bytes_total"
)

// redisAnswer is what one server answered to INFO.
type redisAnswer struct {
	up   bool
	info map[string]string
	repl replInfo
}

// Sample measures every node from INFO, over its Unix socket: connected
// clients (dbaasd's own excluded), used_memory, commands processed,
// keyspace hits and misses (as cache hits and misses), expired and
// evicted keys, network bytes, keys, the data directory's size and, on a
// replica, its replication lag in bytes behind its master's offset. The
// keyspace of the master (db0, db1, …) gives the per-database keys and
// expires.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	r, err := d.existing(c)
	if err != nil {
		return engine.Sample{}, err
	}
	answers := make([]redisAnswer, len(c.Nodes))
	pids := make([]int, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		if pids[i] = serverProcess(r, n).Running(); pids[i] == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = sampleRedis(ctx, r, c, p)
		}()
	}
	wg.Wait()

	masterOffset := map[string]int64{} // announced address → master_repl_offset
	master := -1
	for i, a := range answers {
		if a.up && a.repl.role == "master" {
			masterOffset[addr(reachIP(&c.Nodes[i]), c.Nodes[i].Port)] = a.repl.offset
			if master < 0 || c.Nodes[i].Role == engine.RoleMaster {
				master = i
			}
		}
	}
	var out engine.Sample
	for i, a := range answers {
		n := &c.Nodes[i]
		v := map[string]float64{engine.MetricDiskUsedBytes: float64(proc.DiskUsage(nodePaths(n).data))}
		if a.up {
			maps.Copy(v, infoValues(a.info))
			if a.repl.role == "slave" {
				if mo, ok := masterOffset[addr(a.repl.masterHost, a.repl.masterPort)]; ok && a.repl.offset >= 0 {
					v[engine.MetricReplicationLagBytes] = float64(max(mo-a.repl.offset, 0))
				}
			}
		}
		out.Nodes = append(out.Nodes, engine.NodeSample{NodeID: n.ID, Up: a.up, PID: pids[i], Values: v})
		if i == master {
			out.Databases = keyspaceSamples(a.info, n.ID)
		}
	}
	return out, nil
}

// infoValues are the figures of one server's INFO (clients, memory,
// stats, keyspace) the local and the Kubernetes runtimes report alike;
// dbaasd's own connection is not counted among the clients.
func infoValues(info map[string]string) map[string]float64 {
	num := func(k string) float64 {
		f, _ := strconv.ParseFloat(info[k], 64)
		return f
	}
	v := map[string]float64{
		engine.MetricConnections: max(num("connected_clients")-1, 0),
		engine.MetricCacheHits:   num("keyspace_hits"),
		engine.MetricCacheMisses: num("keyspace_misses"),
		metricUsedMemory:         num("used_memory"),
		metricCommands:           num("total_commands_processed"),
		metricExpiredKeys:        num("expired_keys"),
		metricEvictedKeys:        num("evicted_keys"),
		metricNetIn:              num("total_net_input_bytes"),
		metricNetOut:             num("total_net_output_bytes"),
	}
	var keys float64
	for _, ks := range keyspaces(info) {
		keys += ks.keys
	}
	v[metricKeys] = keys
	return v
}

// keyspaceSamples are the per-database figures of a master's INFO.
func keyspaceSamples(info map[string]string, nodeID string) []engine.DatabaseSample {
	var out []engine.DatabaseSample
	for _, ks := range keyspaces(info) {
		out = append(out, engine.DatabaseSample{Name: ks.name, NodeID: nodeID,
			Values: map[string]float64{metricKeys: ks.keys, metricExpires: ks.expires}})
	}
	return out
}

// SampleInfo is what one server's INFO (clients, memory, stats,
// replication, keyspace) says for the metrics: its figures, as the local
// runtime reports them, and its databases' (meaningful on a master).
func SampleInfo(info, nodeID string) (map[string]float64, []engine.DatabaseSample) {
	m := parseInfo(info)
	return infoValues(m), keyspaceSamples(m, nodeID)
}

// sampleRedis asks one server for INFO within sampleTimeout.
func sampleRedis(ctx context.Context, r *proc.Runner, c *engine.Cluster, p paths) redisAnswer {
	var a redisAnswer
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	cl, _, err := connect(ctx, unixEndpoint(p.serverSock), creds(nil, c, p))
	if err != nil {
		return a
	}
	defer func() { _ = cl.Close() }()
	s, err := cl.Info(ctx, "clients", "memory", "stats", "replication", "keyspace").Result()
	if err != nil {
		return a
	}
	a.up, a.info = true, parseInfo(s)
	a.repl = parseRepl(a.info)
	return a
}

// keyspace is one line of INFO keyspace ("db0:keys=1,expires=0,avg_ttl=0").
type keyspace struct {
	name          string
	keys, expires float64
}

func keyspaces(info map[string]string) []keyspace {
	var out []keyspace
	for k, v := range info {
		if !strings.HasPrefix(k, "db") {
			continue
		}
		if _, err := strconv.Atoi(k[2:]); err != nil {
			continue
		}
		ks := keyspace{name: k}
		for _, kv := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(val, 64)
			switch name {
			case "keys":
				ks.keys = f
			case "expires":
				ks.expires = f
			}
		}
		out = append(out, ks)
	}
	// Sorted by database number, for stable output.
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].name[2:])
		b, _ := strconv.Atoi(out[j].name[2:])
		return a < b
	})
	return out
}
