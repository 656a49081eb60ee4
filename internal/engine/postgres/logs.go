package postgres

import (
	"path/filepath"
	"sort"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.LogSource = (*Driver)(nil)

// LogFiles lists the server logs of every node: one file per day of the
// week (LogFilePattern) written with LogLinePrefix in UTC.
func (d *Driver) LogFiles(c *engine.Cluster) []engine.LogFile {
	var out []engine.LogFile
	for i := range c.Nodes {
		n := &c.Nodes[i]
		files, _ := filepath.Glob(filepath.Join(LogDir(n), "postgresql-*.log"))
		sort.Strings(files)
		for _, f := range files {
			out = append(out, engine.LogFile{NodeID: n.ID, Job: engine.JobPostgreSQL, Format: engine.LogFormatPostgres, Path: f})
		}
	}
	return out
}
