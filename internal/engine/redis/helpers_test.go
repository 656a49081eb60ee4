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
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// setup returns a driver and an ensured cluster of n nodes, destroyed when
// the test ends. edit, if set, changes the cluster before Ensure.
func setup(t *testing.T, n int, edit func(c *engine.Cluster)) (*Driver, *engine.Cluster) {
	t.Helper()
	enginetest.NeedsEngine(t, "Redis servers")
	d := newTestDriver(t)
	c := enginetest.NewCluster(t, engine.Redis, n)
	c.Password = "pw-" + c.ID[:8]
	if edit != nil {
		edit(c)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	ensure(t, d, c)
	return d, c
}

// ensure runs Ensure or fails the test; nodes get the extra ports dbaasd
// would allocate.
func ensure(t *testing.T, d *Driver, c *engine.Cluster) {
	t.Helper()
	enginetest.NeedsEngine(t, "Redis servers")
	enginetest.GivePorts(t, d, c)
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

// admin returns a client of node n's server as dbaasd's internal user,
// over its Unix socket.
func admin(t *testing.T, c *engine.Cluster, n *engine.Node) *goredis.Client {
	t.Helper()
	cl := goredis.NewClient(clientOptions(unixEndpoint(nodePaths(n).serverSock), internalCred(c), nil))
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// configGet reads one parameter from node n (as dbaasd: the tenant may
// not).
func configGet(t *testing.T, c *engine.Cluster, n *engine.Node, name string) string {
	t.Helper()
	cl := admin(t, c, n)
	v, err := cl.ConfigGet(context.Background(), name).Result()
	if err != nil {
		t.Fatalf("CONFIG GET %s: %v", name, err)
	}
	return v[name]
}

// pidOf returns the process of a pid file when it runs and looks like one
// of words, else 0.
func pidOf(pidFile string, words ...string) int {
	return (&proc.Daemon{PidFile: pidFile, Recognise: cmdlineMentions(words...)}).Running()
}

// serverPid returns node n's server process ID.
func serverPid(n *engine.Node) int { return pidOf(nodePaths(n).serverPid, serverWords...) }

// stateOf reads node n's state.json (as the cluster's account).
func stateOf(t *testing.T, d *Driver, c *engine.Cluster, n *engine.Node) nodeState {
	t.Helper()
	st, err := readState(acct(t, d, c), nodePaths(n))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// acct is the runner of the cluster's OS account.
func acct(t *testing.T, d *Driver, c *engine.Cluster) *proc.Runner {
	t.Helper()
	r, err := d.existing(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readFile returns a file's content.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// newClient returns a one-connection client that authenticates as the
// default user with password.
func newClient(ep endpoint, password string) *goredis.Client {
	return goredis.NewClient(clientOptions(ep, cred{pass: password}, nil))
}
