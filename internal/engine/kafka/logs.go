package kafka

import "github.com/dbaasd/dbaasd/internal/engine"

var _ engine.LogSource = (*Driver)(nil)

// LogFiles names the output of the cluster's broker process (one process
// serves every node; its log is listed under the node whose directory
// holds it).
func (d *Driver) LogFiles(c *engine.Cluster) []engine.LogFile {
	home := homeNode(c)
	if home == nil {
		return nil
	}
	return []engine.LogFile{{NodeID: home.ID, Job: engine.JobKafka, Format: engine.LogFormatKafkaBroker, Path: layout{home: home}.log()}}
}
