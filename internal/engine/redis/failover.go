package redis

import (
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.SelfFailover = (*Driver)(nil)

// FailoverGrace implements engine.SelfFailover: Sentinel declares a master
// down after down-after-milliseconds and then needs about a second to
// elect and promote a replica; a single node has no Sentinel to wait for.
func (d *Driver) FailoverGrace(c *engine.Cluster) time.Duration {
	if len(c.Nodes) < 2 {
		return 0
	}
	return time.Duration(downAfterMs)*time.Millisecond + 4*time.Second
}
