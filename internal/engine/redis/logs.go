package redis

import "github.com/dbaasd/dbaasd/internal/engine"

var _ engine.LogSource = (*Driver)(nil)

// LogFiles lists every node's server log and, for clusters with replicas,
// its Sentinel's log.
func (d *Driver) LogFiles(c *engine.Cluster) []engine.LogFile {
	var out []engine.LogFile
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		out = append(out, engine.LogFile{NodeID: n.ID, Job: engine.JobRedis, Format: engine.LogFormatRedis, Path: p.serverLog})
		if len(c.Nodes) > 1 {
			out = append(out, engine.LogFile{NodeID: n.ID, Job: engine.JobRedisSentinel, Format: engine.LogFormatRedis, Path: p.sentinelLog})
		}
	}
	return out
}
