package kafka

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.MetricsSampler = (*Driver)(nil)

// sampleTimeout bounds the questions to the brokers during Sample.
const sampleTimeout = 5 * time.Second

// Kafka-specific metric names (beside engine.Metric*).
const (
	metricMessagesIn = "messages_in_total" // counter: records appended (sum of the partitions' end offsets)
	metricMessages   = "messages"          // gauge: records retained (end minus start offsets)
	metricPartitions = "partitions"        // gauge: partitions (per node: those it leads)
	metricTopics     = "topics"            // gauge: topics of the cluster
)

// partitionStats is what the brokers say of one partition.
type partitionStats struct {
	topic      string
	partition  int32
	leader     int32
	start, end int64
	size       int64
}

// Sample measures the cluster. Every node answers ApiVersions (up) and is
// served by the cluster's single broker process (its PID, so the process's
// CPU and memory show on every node). Over the Kafka protocol, as the
// superuser: per node, the records appended to the partitions it leads
// (sum of their end offsets, a counter), those partitions and the topic
// count; per topic ("database"), the records appended and retained, its
// partitions and its size on disk (DescribeLogDirs). Every node reports
// the size of the shared data directory.
func (d *Driver) Sample(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
	var out engine.Sample
	home := homeNode(c)
	if home == nil {
		return out, nil
	}
	l := layout{home: home}
	pid, _ := d.running(c, l)
	disk := float64(dirSize(l.data()))
	up := make([]bool, len(c.Nodes))
	anyUp := false
	if pid > 0 {
		var wg sync.WaitGroup
		for i := range c.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				up[i] = probe(ctx, nodeAddr(&c.Nodes[i]), time.Second) == nil
			}()
		}
		wg.Wait()
		for _, u := range up {
			anyUp = anyUp || u
		}
	}
	var parts []partitionStats
	var brokers map[string]int32
	var perr error
	if anyUp {
		parts, brokers, perr = samplePartitions(ctx, c)
	}
	topics := map[string]bool{}
	for _, p := range parts {
		topics[p.topic] = true
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		ns := engine.NodeSample{NodeID: n.ID, Up: up[i], PID: pid, Values: map[string]float64{engine.MetricDiskUsedBytes: disk}}
		if up[i] && perr == nil {
			id, known := brokers[nodeAddr(n)]
			var in, led float64
			for _, p := range parts {
				if known && p.leader == id {
					led++
					in += float64(p.end)
				}
			}
			ns.Values[metricMessagesIn] = in
			ns.Values[metricPartitions] = led
			ns.Values[metricTopics] = float64(len(topics))
		}
		out.Nodes = append(out.Nodes, ns)
	}
	if perr != nil || len(parts) == 0 {
		return out, nil
	}
	byTopic := map[string]map[string]float64{}
	for _, p := range parts {
		v := byTopic[p.topic]
		if v == nil {
			v = map[string]float64{}
			byTopic[p.topic] = v
		}
		v[metricPartitions]++
		v[metricMessagesIn] += float64(p.end)
		v[metricMessages] += float64(max(p.end-p.start, 0))
		v[engine.MetricSizeBytes] += float64(p.size)
	}
	names := make([]string, 0, len(byTopic))
	for t := range byTopic {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		out.Databases = append(out.Databases, engine.DatabaseSample{Name: t, NodeID: home.ID, Values: byTopic[t]})
	}
	return out, nil
}

// samplePartitions asks the brokers, as the superuser within
// sampleTimeout, for every partition of the users' topics with its
// leader, offsets and size, and for the brokers' addresses.
func samplePartitions(ctx context.Context, c *engine.Cluster) ([]partitionStats, map[string]int32, error) {
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	var parts []partitionStats
	brokers := map[string]int32{}
	err := withAdmin(ctx, c, func(adm *kadm.Client, _ *kgo.Client) error {
		md, err := adm.Metadata(ctx)
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		for _, b := range md.Brokers {
			brokers[net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))] = b.NodeID
		}
		var names []string
		index := map[string]map[int32]int{}
		for _, t := range md.Topics.Sorted() {
			if t.IsInternal || t.Err != nil {
				continue
			}
			names = append(names, t.Topic)
			index[t.Topic] = map[int32]int{}
			for _, p := range t.Partitions.Sorted() {
				index[t.Topic][p.Partition] = len(parts)
				parts = append(parts, partitionStats{topic: t.Topic, partition: p.Partition, leader: p.Leader})
			}
		}
		if len(names) == 0 {
			return nil
		}
		ends, err := adm.ListEndOffsets(ctx, names...)
		if err != nil {
			return fmt.Errorf("end offsets: %w", err)
		}
		starts, err := adm.ListStartOffsets(ctx, names...)
		if err != nil {
			return fmt.Errorf("start offsets: %w", err)
		}
		set := func(l kadm.ListedOffsets, f func(*partitionStats, int64)) {
			l.Each(func(o kadm.ListedOffset) {
				if i, ok := index[o.Topic][o.Partition]; ok && o.Err == nil && o.Offset >= 0 {
					f(&parts[i], o.Offset)
				}
			})
		}
		set(ends, func(p *partitionStats, o int64) { p.end = o })
		set(starts, func(p *partitionStats, o int64) { p.start = o })
		// Sizes are a plus: a broker that cannot describe its log
		// directories leaves them at zero.
		if dirs, err := adm.DescribeAllLogDirs(ctx, nil); err == nil {
			dirs.Each(func(d kadm.DescribedLogDir) {
				d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
					if i, ok := index[p.Topic][p.Partition]; ok {
						parts[i].size = max(parts[i].size, p.Size)
					}
				})
			})
		}
		return nil
	})
	return parts, brokers, err
}
