package redis

import (
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	enginetest.Run(t, enginetest.Options{
		Engine:  engine.Redis,
		New:     func(t *testing.T) engine.Driver { return newTestDriver(t) },
		Prepare: func(c *engine.Cluster) { c.Password = "conformance-" + c.ID[:8] },
		PIDs: func(c *engine.Cluster, n *engine.Node) []int {
			var pids []int
			p := nodePaths(n)
			for _, pf := range []string{p.serverPid, p.sentinelPid, p.forwarderPid} {
				if pid := proc.ReadPidFile(pf); proc.Alive(pid) {
					pids = append(pids, pid)
				}
			}
			return pids
		},
	})
}
