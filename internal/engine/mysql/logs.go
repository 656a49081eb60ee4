package mysql

import (
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.LogSource = (*Driver)(nil)

// LogFiles lists every node's error log and slow query log.
func (d *Driver) LogFiles(c *engine.Cluster) []engine.LogFile {
	var out []engine.LogFile
	for i := range c.Nodes {
		n := newNode(d.runner.Existing(c.ID), c.Nodes[i])
		out = append(out,
			engine.LogFile{NodeID: n.ID, Job: engine.JobMySQLError, Format: engine.LogFormatMariaDBError, Path: n.errorLog()},
			engine.LogFile{NodeID: n.ID, Job: engine.JobMySQLSlow, Format: engine.LogFormatMariaDBSlow, Path: filepath.Join(n.logDir(), "slow.log")},
		)
	}
	return out
}
