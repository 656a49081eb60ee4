// Package enginetest is the conformance suite every engine driver must pass.
// It checks the lifecycle contract of engine.Driver against the real engine:
// create, idempotent re-ensure, observation, repair after a crash, stop,
// resize of the node count, and destroy; and, for the optional capability
// interfaces the driver implements, that each call is idempotent.
//
// A driver's own tests call Run with a factory; engine-specific effects
// (a user can log in, a replica streams) are checked by the driver's tests.
package enginetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Options configure the suite for one driver.
type Options struct {
	// Engine is the engine name put in clusters (engine.PostgreSQL, ...).
	Engine string
	// New returns the driver under test.
	New func(t *testing.T) engine.Driver
	// Prepare, if set, completes a cluster before it is ensured (for example
	// sets Password for engines that require one).
	Prepare func(c *engine.Cluster)
	// MaxNodes is the largest node count the driver supports (default 3).
	MaxNodes int
	// PIDs returns the process IDs of a node's server, so the suite can kill
	// it and check that Ensure repairs it.
	PIDs func(c *engine.Cluster, n *engine.Node) []int
}

// NeedsEngine skips a test that starts engine processes (name says
// which) under -short: `make test-short` runs no engine.
func NeedsEngine(t testing.TB, name string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts " + name + " (skipped with -short)")
	}
}

// NewCluster returns a cluster with n nodes on free loopback ports under a
// fresh temporary directory.
func NewCluster(t testing.TB, eng string, n int) *engine.Cluster {
	t.Helper()
	dir := TempDir(t)
	c := &engine.Cluster{
		ID:            uuid.NewString(),
		Engine:        eng,
		Dir:           dir,
		Flavor:        engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5},
		Config:        map[string]any{},
		AdminPassword: "admin-" + uuid.NewString()[:8],
	}
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, NewNode(t, c, i))
	}
	return c
}

// NewNode returns node i of c on a free loopback port.
func NewNode(t testing.TB, c *engine.Cluster, i int) engine.Node {
	t.Helper()
	role := engine.RoleReplica
	if i == 0 {
		role = engine.RoleMaster
	}
	id := uuid.NewString()
	return engine.Node{
		ID: id, Index: i, Role: role, Host: "127.0.0.1", Port: FreePort(t),
		Dir: filepath.Join(c.Dir, "nodes", id[:8]),
	}
}

// TempDir returns a temporary directory that engine users can enter (the
// engines may run as another OS user than the test) and that is short enough
// for Unix socket paths.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// FreePort returns a TCP port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// Further ports of nodes (engine.PortNeeder) come from a range below the
// kernel's ephemeral ports (32768 and up, which outgoing connections take)
// and above the ranges tests give dbaasd (21000-30999), each handed out
// once per test binary.
const (
	nodePortMin = 31000
	nodePortMax = 32767
)

var (
	nodePortMu   sync.Mutex
	nodePortNext = nodePortMin + int(time.Now().UnixNano()%(nodePortMax-nodePortMin))
)

// GivePorts gives every node of c the further ports the driver names
// (engine.PortNeeder), as dbaasd allocates them; nodes keep those they have.
func GivePorts(t testing.TB, d engine.Driver, c *engine.Cluster) {
	t.Helper()
	pn, ok := d.(engine.PortNeeder)
	if !ok {
		return
	}
	names := pn.NodePorts(c)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		for _, name := range names {
			if n.Ports[name] != 0 {
				continue
			}
			if n.Ports == nil {
				n.Ports = map[string]int{}
			}
			n.Ports[name] = nodePort(t, n.Host)
		}
	}
}

func nodePort(t testing.TB, host string) int {
	t.Helper()
	nodePortMu.Lock()
	defer nodePortMu.Unlock()
	for tries := 0; tries <= nodePortMax-nodePortMin; tries++ {
		p := nodePortNext
		nodePortNext++
		if nodePortNext > nodePortMax {
			nodePortNext = nodePortMin
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(p)))
		if err == nil {
			_ = l.Close()
			return p
		}
	}
	t.Fatalf("no free port on %s in %d-%d", host, nodePortMin, nodePortMax)
	return 0
}

// Ctx returns a context bounded for engine work in tests.
func Ctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// WaitObserved polls Observe until every node is ACTIVE with its desired
// role, or fails the test.
func WaitObserved(t *testing.T, d engine.Driver, c *engine.Cluster) engine.Observation {
	t.Helper()
	ctx := Ctx(t)
	var last engine.Observation
	var lastErr error
	for i := 0; i < 300; i++ {
		last, lastErr = d.Observe(ctx, c)
		if lastErr == nil && allActive(c, last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("cluster never became active: %+v (err %v)", last, lastErr)
	return last
}

func allActive(c *engine.Cluster, o engine.Observation) bool {
	if len(o.Nodes) != len(c.Nodes) {
		return false
	}
	want := map[string]string{}
	for _, n := range c.Nodes {
		want[n.ID] = n.Role
	}
	for _, n := range o.Nodes {
		if n.Status != engine.NodeActive || want[n.ID] != n.Role {
			return false
		}
	}
	return true
}

func ensure(t *testing.T, d engine.Driver, c *engine.Cluster) {
	t.Helper()
	NeedsEngine(t, c.Engine+" servers")
	GivePorts(t, d, c)
	if err := d.Ensure(Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

// Run runs the conformance suite.
func Run(t *testing.T, o Options) {
	if o.MaxNodes == 0 {
		o.MaxNodes = 3
	}
	newCluster := func(t *testing.T, n int) (engine.Driver, *engine.Cluster) {
		NeedsEngine(t, o.Engine+" servers")
		d := o.New(t)
		c := NewCluster(t, o.Engine, n)
		if o.Prepare != nil {
			o.Prepare(c)
		}
		t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
		return d, c
	}

	t.Run("Info", func(t *testing.T) {
		info, err := o.New(t).Info(Ctx(t))
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.Version == "" || info.Engine != o.Engine {
			t.Fatalf("Info = %+v, want engine %s and a version", info, o.Engine)
		}
	})

	t.Run("Catalog", func(t *testing.T) {
		cat, err := o.New(t).Catalog(Ctx(t))
		if err != nil {
			t.Fatalf("Catalog: %v", err)
		}
		for _, p := range cat.Parameters {
			if p.Name == "" || p.Type == "" {
				t.Fatalf("parameter without name or type: %+v", p)
			}
		}
	})

	t.Run("EnsureIsIdempotentAndObservable", func(t *testing.T) {
		d, c := newCluster(t, 1)
		ensure(t, d, c)
		ensure(t, d, c)
		obs := WaitObserved(t, d, c)
		if obs.DiskUsedBytes <= 0 {
			t.Errorf("DiskUsedBytes = %d, want > 0", obs.DiskUsedBytes)
		}
	})

	t.Run("StopThenEnsureRestarts", func(t *testing.T) {
		d, c := newCluster(t, 1)
		ensure(t, d, c)
		if err := d.Stop(Ctx(t), c); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		obs, err := d.Observe(Ctx(t), c)
		if err != nil {
			t.Fatalf("Observe: %v", err)
		}
		if len(obs.Nodes) != 1 || obs.Nodes[0].Status == engine.NodeActive {
			t.Fatalf("stopped cluster observed as %+v, want the node not ACTIVE", obs)
		}
		ensure(t, d, c)
		WaitObserved(t, d, c)
	})

	if o.PIDs != nil {
		t.Run("KilledNodeIsObservedDownAndRepaired", func(t *testing.T) {
			d, c := newCluster(t, 1)
			ensure(t, d, c)
			pids := o.PIDs(c, &c.Nodes[0])
			if len(pids) == 0 {
				t.Fatal("PIDs returned nothing for a running node")
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			down := false
			for i := 0; i < 100 && !down; i++ {
				obs, err := d.Observe(Ctx(t), c)
				down = err == nil && len(obs.Nodes) == 1 && obs.Nodes[0].Status != engine.NodeActive
				if !down {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if !down {
				t.Fatal("killed node still observed ACTIVE")
			}
			ensure(t, d, c)
			WaitObserved(t, d, c)
		})
	}

	if o.MaxNodes > 1 {
		t.Run("ReplicasJoinAndLeave", func(t *testing.T) {
			d, c := newCluster(t, 1)
			ensure(t, d, c)
			for i := 1; i < o.MaxNodes; i++ {
				c.Nodes = append(c.Nodes, NewNode(t, c, i))
			}
			ensure(t, d, c)
			WaitObserved(t, d, c)
			c.Nodes = c.Nodes[:1]
			ensure(t, d, c)
			obs := WaitObserved(t, d, c)
			if len(obs.Nodes) != 1 {
				t.Fatalf("after scaling down observed %d nodes", len(obs.Nodes))
			}
		})
	}

	t.Run("DestroyRemovesEverything", func(t *testing.T) {
		d, c := newCluster(t, 1)
		ensure(t, d, c)
		if err := d.Destroy(Ctx(t), c); err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		if err := d.Destroy(Ctx(t), c); err != nil {
			t.Fatalf("second Destroy: %v", err)
		}
		// The cluster's directory goes too: nothing of a deleted
		// datastore is left behind, not even an empty directory.
		if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
			t.Errorf("cluster dir %s still there after Destroy (err %v)", c.Dir, err)
		}
		for _, n := range c.Nodes {
			if _, err := os.Stat(n.Dir); !os.IsNotExist(err) {
				t.Errorf("node dir %s still there after Destroy (err %v)", n.Dir, err)
			}
			if o.PIDs != nil {
				if pids := o.PIDs(c, &n); len(pids) > 0 {
					t.Errorf("node %s still has processes %v after Destroy", n.ID, pids)
				}
			}
		}
	})

	runCapabilities(t, o, newCluster)
}

func runCapabilities(t *testing.T, o Options, newCluster func(*testing.T, int) (engine.Driver, *engine.Cluster)) {
	d := o.New(t)
	if _, ok := d.(engine.UserManager); ok {
		t.Run("UsersAreIdempotent", func(t *testing.T) {
			d, c := newCluster(t, 1)
			ensure(t, d, c)
			um := d.(engine.UserManager)
			u := engine.User{Name: "conformance_user", Password: "Secret-123456"}
			for i := 0; i < 2; i++ {
				if err := um.EnsureUser(Ctx(t), c, u); err != nil {
					t.Fatalf("EnsureUser #%d: %v", i+1, err)
				}
			}
			u.Password = "Changed-123456"
			if err := um.EnsureUser(Ctx(t), c, u); err != nil {
				t.Fatalf("EnsureUser with a new password: %v", err)
			}
			if dm, ok := d.(engine.DatabaseManager); ok {
				db := engine.Database{Name: "conformance_db", Owner: u.Name}
				g := engine.Grant{User: u.Name, Database: db.Name}
				for i := 0; i < 2; i++ {
					if err := dm.EnsureDatabase(Ctx(t), c, db); err != nil {
						t.Fatalf("EnsureDatabase #%d: %v", i+1, err)
					}
					if err := dm.EnsureGrant(Ctx(t), c, g); err != nil {
						t.Fatalf("EnsureGrant #%d: %v", i+1, err)
					}
				}
				for i := 0; i < 2; i++ {
					if err := dm.DropGrant(Ctx(t), c, g); err != nil {
						t.Fatalf("DropGrant #%d: %v", i+1, err)
					}
					if err := dm.DropDatabase(Ctx(t), c, db.Name); err != nil {
						t.Fatalf("DropDatabase #%d: %v", i+1, err)
					}
				}
			}
			for i := 0; i < 2; i++ {
				if err := um.DropUser(Ctx(t), c, u.Name); err != nil {
					t.Fatalf("DropUser #%d: %v", i+1, err)
				}
			}
		})
	}
	if _, ok := d.(engine.TopicManager); ok {
		t.Run("TopicsAreIdempotent", func(t *testing.T) {
			d, c := newCluster(t, 1)
			ensure(t, d, c)
			tm := d.(engine.TopicManager)
			for _, parts := range []int{1, 1, 3} {
				if err := tm.EnsureTopic(Ctx(t), c, engine.Topic{Name: "conformance", Partitions: parts}); err != nil {
					t.Fatalf("EnsureTopic(%d partitions): %v", parts, err)
				}
			}
			for i := 0; i < 2; i++ {
				if err := tm.DropTopic(Ctx(t), c, "conformance"); err != nil {
					t.Fatalf("DropTopic #%d: %v", i+1, err)
				}
			}
		})
	}
}
