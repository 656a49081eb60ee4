package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

const (
	stateFile = "node.json"
	// stopGrace is how long a server gets to shut down cleanly (flush the
	// buffer pool, leave the Galera cluster) before it is killed.
	stopGrace = 2 * time.Minute
	// destroyGrace is the same when its data is about to be removed anyway.
	destroyGrace = 5 * time.Second
	// readyTimeout bounds waiting for a server to accept queries (a Galera
	// joiner includes its state transfer).
	readyTimeout = 5 * time.Minute
)

// nodeState is what the driver keeps in a node's directory. Its presence
// marks the directory as a node of this driver.
type nodeState struct {
	Engine   string `json:"engine"`
	Cluster  string `json:"cluster"`
	Node     string `json:"node"`
	Index    int    `json:"index"`
	Role     string `json:"role"` // desired role when last ensured
	Host     string `json:"host"`
	Port     int    `json:"port"`
	ServerID uint32 `json:"server_id"`
	// Galera holds the group communication, IST and SST ports the node's
	// server uses (see galera.go).
	Galera *galeraPorts `json:"galera,omitempty"`
	// Applied is the configuration the running server uses: what my.cnf
	// held when it started plus what was changed with SET GLOBAL since.
	Applied map[string]string `json:"applied,omitempty"`
	// Seeded marks a Galera node whose data is a copy of the template that
	// has not yet been in its cluster: if it does not start with the
	// others, it receives a full state transfer instead (see galera.go).
	Seeded bool `json:"seeded,omitempty"`
	// CloneGTID is the GTID position of a replica cloned from the primary,
	// until replication is configured from it.
	CloneGTID string `json:"clone_gtid,omitempty"`
}

// node is one server of a cluster with its on-disk state.
type node struct {
	engine.Node
	st nodeState
	// r runs the node's processes and file operations as the cluster's
	// OS account.
	r *proc.Runner
}

func newNode(r *proc.Runner, n engine.Node) *node { return &node{Node: n, r: r} }

func (n *node) cnfPath() string   { return filepath.Join(n.Dir, "my.cnf") }
func (n *node) dataDir() string   { return filepath.Join(n.Dir, "data") }
func (n *node) logDir() string    { return filepath.Join(n.Dir, "log") }
func (n *node) runDir() string    { return filepath.Join(n.Dir, "run") }
func (n *node) pidFile() string   { return filepath.Join(n.runDir(), "mariadbd.pid") }
func (n *node) initFile() string  { return filepath.Join(n.runDir(), "init.sql") }
func (n *node) errorLog() string  { return filepath.Join(n.logDir(), "error.log") }
func (n *node) outLog() string    { return filepath.Join(n.logDir(), "mariadbd.out") }
func (n *node) statePath() string { return filepath.Join(n.Dir, stateFile) }
func (n *node) socket() string    { return filepath.Join(n.SocketDir(), "mysqld.sock") }

// hasData reports whether the node's data directory was initialized.
func (n *node) hasData() bool {
	st, err := os.Stat(filepath.Join(n.dataDir(), "mysql"))
	return err == nil && st.IsDir()
}

func (n *node) loadState() error {
	b, err := os.ReadFile(n.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read node state: %w", err)
	}
	if err := json.Unmarshal(b, &n.st); err != nil {
		return fmt.Errorf("parse %s: %w", n.statePath(), err)
	}
	return nil
}

func (d *Driver) saveState(n *node) error {
	b, err := json.MarshalIndent(&n.st, "", "  ")
	if err != nil {
		return err
	}
	_, err = n.r.WriteFile(n.statePath(), append(b, '\n'), 0o600)
	return err
}

// nodeServerID derives a server_id from the node's identity and index:
// unique among the nodes of a cluster (the index differs) and unlikely to
// collide with other clusters (the hash).
func nodeServerID(clusterID, nodeID string, index int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(clusterID + "/" + nodeID))
	return 1 + uint32(index%1000) + 1000*(h.Sum32()%4_000_000)
}

// clusterServerID is the server_id shared by all nodes of a Galera cluster
// (MariaDB's guidance with wsrep_gtid_mode, so that every node gives a
// transaction the same GTID).
func clusterServerID(clusterID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(clusterID))
	return 1 + 1000*(h.Sum32()%4_000_000)
}

// prepareNodes creates the desired nodes' directories and state.
func (d *Driver) prepareNodes(ctx context.Context, c *engine.Cluster) ([]*node, error) {
	galera := d.mode == ModeSync && len(c.Nodes) > 1
	r, err := d.account(c)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := r.ClaimDir(dir); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.ID, err)
		}
	}
	var nodes []*node
	for _, en := range c.Nodes {
		n := newNode(r, en)
		if err := n.loadState(); err != nil {
			return nil, err
		}
		fresh := n.st.Node == ""
		for _, dir := range []string{n.Dir, n.logDir(), n.runDir(), filepath.Dir(n.socket())} {
			if err := n.r.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
		}
		if fresh {
			if err := n.r.CheckAccess(ctx, n.Dir); err != nil {
				return nil, err
			}
		}
		n.st.Engine, n.st.Cluster, n.st.Node = d.name, c.ID, n.ID
		n.st.Index, n.st.Role, n.st.Host, n.st.Port = n.Index, n.Role, n.Host, n.Port
		if galera {
			p, err := allocatedPorts(n)
			if err != nil {
				return nil, err
			}
			// A running server keeps the ports it listens on until it
			// restarts.
			if n.st.Galera == nil || *n.st.Galera != *p && serverPID(n) == 0 {
				n.st.Galera = p
			}
		}
		if err := d.saveState(n); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// allNodes returns the desired nodes and the nodes found on disk under
// <c.Dir>/nodes that are no longer desired (with the role they had).
func (d *Driver) allNodes(r *proc.Runner, c *engine.Cluster) []*node {
	var nodes []*node
	desired := map[string]bool{}
	for _, en := range c.Nodes {
		n := newNode(r, en)
		_ = n.loadState()
		nodes = append(nodes, n)
		desired[filepath.Clean(en.Dir)] = true
	}
	return append(nodes, d.undesiredNodes(r, c, desired)...)
}

// undesiredNodes lists the nodes found under <c.Dir>/nodes that c does not
// want. Their state files are the cluster account's: nothing but the node's
// identity and address is taken from them, paths come from the layout.
func (d *Driver) undesiredNodes(r *proc.Runner, c *engine.Cluster, desired map[string]bool) []*node {
	if c.Dir == "" {
		return nil
	}
	entries, _ := os.ReadDir(filepath.Join(c.Dir, "nodes"))
	var nodes []*node
	for _, e := range entries {
		dir := filepath.Join(c.Dir, "nodes", e.Name())
		if !e.IsDir() || desired[dir] {
			continue
		}
		en := engine.Node{Dir: dir}
		if c.RunDir != "" {
			en.RunDir = filepath.Join(c.RunDir, e.Name())
		}
		n := newNode(r, en)
		if err := n.loadState(); err != nil || n.st.Node == "" || (n.st.Engine != engine.MySQL && n.st.Engine != engine.MySQLNative) {
			continue // not a node of this driver
		}
		n.ID, n.Index, n.Role, n.Host, n.Port = n.st.Node, n.st.Index, n.st.Role, n.st.Host, n.st.Port
		nodes = append(nodes, n)
	}
	return nodes
}

// removeUndesired stops and removes the nodes that are on disk but no
// longer in c.Nodes.
func (d *Driver) removeUndesired(ctx context.Context, r *proc.Runner, c *engine.Cluster) error {
	desired := map[string]bool{}
	for _, en := range c.Nodes {
		desired[filepath.Clean(en.Dir)] = true
	}
	for _, n := range d.undesiredNodes(r, c, desired) {
		d.log.Info("removing node no longer desired", "datastore_id", c.ID, "node", n.ID)
		if err := d.removeNode(ctx, n, stopGrace); err != nil {
			return err
		}
	}
	return nil
}

// removeNode stops a node's server and removes its directories.
func (d *Driver) removeNode(ctx context.Context, n *node, grace time.Duration) error {
	if err := d.stopNode(ctx, n, grace); err != nil {
		return err
	}
	if sd := filepath.Dir(n.socket()); !strings.HasPrefix(sd, n.Dir+string(filepath.Separator)) {
		_ = n.r.RemoveAll(sd)
	}
	if err := n.r.RemoveAll(n.Dir); err != nil {
		return fmt.Errorf("remove node %s: %w", n.ID, err)
	}
	return nil
}

// mariadbd describes a mariadbd of node n started with the configuration
// file cnf: found by its pid file or, when that is lost, among the
// cluster account's processes by its --defaults-file (a server whose pid
// file was lost must not be started twice).
func mariadbd(n *node, cnf, pidFile string) *proc.Daemon {
	arg := "--defaults-file=" + cnf
	return &proc.Daemon{
		Name:    "node " + n.ID + ": mariadbd",
		Runner:  n.r,
		Dir:     n.Dir,
		Log:     n.outLog(),
		PidFile: pidFile,
		Recognise: func(_ int, argv []string) bool {
			return strings.HasPrefix(filepath.Base(argv[0]), "mariadbd") && slices.Contains(argv, arg)
		},
		Scan:      true,
		Tail:      func() string { return errorLogTail(n) },
		StopGrace: stopGrace,
	}
}

// server describes the node's own server.
func (n *node) server() *proc.Daemon {
	dm := mariadbd(n, n.cnfPath(), n.pidFile())
	// Without its configuration no server of this node can run.
	_, err := os.Stat(n.cnfPath())
	dm.Scan = err == nil
	return dm
}

// serverPID returns the process ID of the node's mariadbd, or 0.
func serverPID(n *node) int { return n.server().Find() }

// startServer starts the node's mariadbd with its my.cnf (and the init file
// of a first start) and waits until it answers queries as the admin user;
// with galera it also waits until the node is synced with its cluster.
func (d *Driver) startServer(ctx context.Context, c *engine.Cluster, n *node, galera bool, extra ...string) error {
	bin, err := proc.FindBinary("mariadbd")
	if err != nil {
		return err
	}
	for _, dir := range []string{n.logDir(), n.runDir(), filepath.Dir(n.socket())} {
		if err := n.r.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	args := []string{"--defaults-file=" + n.cnfPath()}
	if _, err := os.Stat(n.initFile()); err == nil {
		args = append(args, "--init-file="+n.initFile())
	}
	args = append(args, extra...)
	d.log.Info("starting mariadbd", "datastore_id", c.ID, "node", n.ID, "args", strings.Join(args[1:], " "))
	dm := n.server()
	dm.Command, dm.Args = bin, args
	// A server that is not ready in time keeps running: a Galera joiner's
	// state transfer goes on, and the next Ensure adopts it.
	closeProbe := readyProbe(dm, c, n, galera)
	defer closeProbe()
	if _, err := dm.Start(ctx); err != nil {
		return err
	}
	_ = n.r.Remove(n.initFile())
	return nil
}

// waitReady waits until the node's running server (pid, 0 to find it)
// answers as the admin user (and, with galera, is synced). If the server
// exits, the error carries the end of the error log.
func (d *Driver) waitReady(ctx context.Context, c *engine.Cluster, n *node, pid int, galera bool) error {
	dm := n.server()
	if pid == 0 {
		if pid = dm.Find(); pid == 0 {
			return fmt.Errorf("node %s: mariadbd is not running: %s", n.ID, errorLogTail(n))
		}
	}
	closeProbe := readyProbe(dm, c, n, galera)
	defer closeProbe()
	return dm.Await(ctx, pid)
}

// readyProbe makes dm ready once the node answers as the admin user (and,
// with galera, is synced), within readyTimeout (a Galera joiner's
// includes its state transfer). The function returned closes its
// connection.
func readyProbe(dm *proc.Daemon, c *engine.Cluster, n *node, galera bool) func() {
	db := openSocket(n.socket(), c.AdminPassword, time.Second)
	dm.Ready = func(ctx context.Context, _ int) error { return probe(ctx, db, galera) }
	dm.ReadyTimeout = readyTimeout
	return func() { _ = db.Close() }
}

// probe checks that a server answers (and is a synced Galera member).
func probe(ctx context.Context, db *sql.DB, galera bool) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return err
	}
	if !galera {
		_, err := queryString(pctx, db, "SELECT 1")
		return err
	}
	g, err := galeraStatus(pctx, db)
	if err != nil {
		return err
	}
	if !g.synced() {
		return fmt.Errorf("galera state %s, cluster status %s", g.State, g.ClusterStatus)
	}
	return nil
}

// stopNode stops the node's server: SIGTERM (a clean shutdown, which also
// leaves a Galera cluster gracefully), then SIGKILL after grace.
func (d *Driver) stopNode(ctx context.Context, n *node, grace time.Duration) error {
	dm := n.server()
	pid := dm.Find()
	if pid == 0 {
		return nil
	}
	d.log.Info("stopping mariadbd", "node", n.ID, "pid", pid)
	dm.StopGrace = grace
	return dm.StopProcess(ctx, pid)
}

// errorLogTail returns the interesting end of a node's error log: its
// last errors, else its last lines.
func errorLogTail(n *node) string {
	lines := n.r.LogLines(n.errorLog(), 40)
	if lines == nil {
		lines = n.r.LogLines(n.outLog(), 40)
	}
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "[ERROR]") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = lines
	}
	if len(errs) > 5 {
		errs = errs[len(errs)-5:]
	}
	return strings.Join(errs, " | ")
}

// dbConn is an admin connection pool to one node.
type dbConn struct {
	*sql.DB
	n *node
}

// connect opens an admin connection pool to a node.
func connect(c *engine.Cluster, n *node) *dbConn {
	return &dbConn{DB: openSocket(n.socket(), c.AdminPassword, 2*time.Second), n: n}
}
