package kuberedis

import (
	"bufio"
	"bytes"
	"context"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

var (
	_ engine.MetricsSampler = (*Driver)(nil)
	_ engine.LogReader      = (*Driver)(nil)
)

// Sample implements engine.MetricsSampler: every server's INFO, asked
// through its node's Service, gives the figures the local runtime reports
// (redis.SampleInfo), and a replica's lag behind the master's offset. The
// databases are the master's. The servers run in pods: the process and
// disk figures the local runtime reads on its machine are absent.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	nodes := sortedNodes(c)
	out := engine.Sample{Nodes: make([]engine.NodeSample, len(nodes))}
	infos := make([]string, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		out.Nodes[i] = engine.NodeSample{NodeID: n.ID}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ask(ctx, c, serverAddr(n), func(ctx context.Context, cl *goredis.Client) error {
				s, err := cl.Info(ctx, "clients", "memory", "stats", "replication", "keyspace").Result()
				infos[i] = s
				return err
			})
		}()
	}
	wg.Wait()
	repl := make([]redis.Replication, len(nodes))
	master := -1
	for i := range nodes {
		if infos[i] == "" {
			continue
		}
		repl[i] = redis.ParseReplication(infos[i])
		if repl[i].Master && (master < 0 || repl[i].Replicas > repl[master].Replicas) {
			master = i
		}
	}
	for i, n := range nodes {
		if infos[i] == "" {
			continue
		}
		values, dbs := redis.SampleInfo(infos[i], n.ID)
		if !repl[i].Master && master >= 0 && podIndex(repl[i].MasterHost) == master && repl[i].Offset >= 0 {
			values[engine.MetricReplicationLagBytes] = float64(max(repl[master].Offset-repl[i].Offset, 0))
		}
		out.Nodes[i].Up, out.Nodes[i].Values = true, values
		if i == master {
			out.Databases = dbs
		}
	}
	return out, nil
}

// ReadLogs implements engine.LogReader: each node's server log and, with
// replicas, its sentinel's, from the pod's containers' output (both log to
// standard output), parsed as the local runtime parses their files
// (redis.ParseLogLine; see kube.ReadLogs).
func (d *Driver) ReadLogs(ctx context.Context, c *engine.Cluster, q engine.LogQuery) ([]engine.LogEntry, error) {
	var srcs []kube.LogSource
	for i, n := range sortedNodes(c) {
		srcs = append(srcs, kube.LogSource{NodeID: n.ID, Job: engine.JobRedis, Pod: podName(i), Container: serverContainer})
		if len(c.Nodes) > 1 {
			srcs = append(srcs, kube.LogSource{NodeID: n.ID, Job: engine.JobRedisSentinel, Pod: podName(i), Container: sentinelContainer})
		}
	}
	return d.kc.ReadLogs(ctx, kube.Namespace(c.ID), srcs, q, func(raw []byte, src kube.LogSource, start, end time.Time) []engine.LogEntry {
		return parseLog(raw, src.NodeID, src.Job, start, end)
	})
}

// parseLog turns a container's output into log entries in [start, end];
// lines that start no entry (the start scripts') are left out.
func parseLog(raw []byte, nodeID, job string, start, end time.Time) []engine.LogEntry {
	var out []engine.LogEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ts, labels, msg, ok := redis.ParseLogLine(string(bytes.TrimRight(sc.Bytes(), "\r")))
		if ok && !ts.Before(start) && !ts.After(end) {
			out = append(out, engine.LogEntry{NodeID: nodeID, Job: job, Time: ts, Labels: labels, Message: msg})
		}
	}
	return out
}
