package postgres

import (
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	enginetest.Run(t, enginetest.Options{
		Engine: engine.PostgreSQL,
		New:    func(t *testing.T) engine.Driver { return newDriver(t) },
		PIDs: func(c *engine.Cluster, n *engine.Node) []int {
			if pid := serverPID(pathsOf(n)); pid != 0 {
				return []int{pid}
			}
			return nil
		},
	})
}
