package redis

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Files holding passwords or data are the engine user's alone.
func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	_, c := setup(t, 2, func(c *engine.Cluster) { c.Firewall = []string{"127.0.0.1"} })
	// SAVE waits for nothing: while the replica's first sync runs a
	// background save, it is refused, so try until it is done.
	eventually(t, 30*time.Second, "SAVE", func() error {
		return admin(t, c, &c.Nodes[0]).Save(context.Background()).Err()
	})
	for i := range c.Nodes {
		p := nodePaths(&c.Nodes[i])
		// Logs (0640, no secrets) stay readable by the engine user's group.
		files := []string{p.conf, p.sentinelConf, p.state, p.forwarderConf}
		if i == 0 {
			files = append(files, p.data+"/dump.rdb")
		}
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				t.Errorf("node %d: %v", i, err)
				continue
			}
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("node %d: %s has mode %v, want no access for others", i, f, st.Mode().Perm())
			}
		}
	}
}
