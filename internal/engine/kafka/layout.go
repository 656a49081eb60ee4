package kafka

import (
	"os"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Files of the broker process, all in its home node's directory.
const (
	configFile = "broker.json"
	pidFile    = "broker.pid"
	statusFile = "broker.status.json"
	logFile    = "broker.log"
	dataDir    = "data"
)

// layout names the files of a cluster's broker process. One process serves
// every node of a cluster; it lives in the directory of its home node.
type layout struct {
	home *engine.Node
}

func (l layout) config() string { return filepath.Join(l.home.Dir, configFile) }
func (l layout) pid() string    { return filepath.Join(l.home.Dir, pidFile) }
func (l layout) status() string { return filepath.Join(l.home.Dir, statusFile) }
func (l layout) log() string    { return filepath.Join(l.home.Dir, logFile) }
func (l layout) data() string   { return filepath.Join(l.home.Dir, dataDir) }

// homeNode picks the node whose directory holds the broker process: the
// first node that already has a broker configuration (so a cluster keeps
// its data when roles change), else the master, else the first node.
func homeNode(c *engine.Cluster) *engine.Node {
	for i := range c.Nodes {
		if _, err := os.Stat(filepath.Join(c.Nodes[i].Dir, configFile)); err == nil {
			return &c.Nodes[i]
		}
	}
	if m := c.Master(); m != nil {
		return m
	}
	if len(c.Nodes) > 0 {
		return &c.Nodes[0]
	}
	return nil
}

// dirSize is the apparent size of the files under root (0 if none).
func dirSize(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
