package redis

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// setup returns a driver and an ensured cluster of n nodes, destroyed when
// the test ends. edit, if set, changes the cluster before Ensure.
func setup(t *testing.T, n int, edit func(c *engine.Cluster)) (*Driver, *engine.Cluster) {
	t.Helper()
	d := newTestDriver(t)
	c := enginetest.NewCluster(t, engine.Redis, n)
	c.Password = "pw-" + c.ID[:8]
	if edit != nil {
		edit(c)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	if err := d.Ensure(enginetest.Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return d, c
}

// ensure runs Ensure or fails the test.
func ensure(t *testing.T, d *Driver, c *engine.Cluster) {
	t.Helper()
	if err := d.Ensure(enginetest.Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

// dial returns a client of node n at its public address, as a user would
// connect, optionally from a given source address.
func dial(t *testing.T, n *engine.Node, password, from string) *goredis.Client {
	t.Helper()
	ep := endpoint{network: "tcp", addr: net.JoinHostPort(n.Host, strconv.Itoa(n.Port)), local: from, timeout: 2 * time.Second}
	cl := newClient(ep, password)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// configGet reads one parameter from node n.
func configGet(t *testing.T, c *engine.Cluster, n *engine.Node, name string) string {
	t.Helper()
	cl := dial(t, n, c.Password, "")
	v, err := cl.ConfigGet(context.Background(), name).Result()
	if err != nil {
		t.Fatalf("CONFIG GET %s: %v", name, err)
	}
	return v[name]
}

// serverPid returns node n's server process ID.
func serverPid(n *engine.Node) int { return runningPid(nodePaths(n).serverPid, serverWords...) }

// readFile returns a file's content.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
