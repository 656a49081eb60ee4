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
	"strconv"
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

// serverPID returns the process ID of the node's mariadbd, or 0. It trusts
// the pid file only when that process is a mariadbd started with this
// node's my.cnf by the cluster's OS account, and falls back to scanning
// /proc (a server whose pid file was lost must not be started twice).
func serverPID(n *node) int {
	arg := "--defaults-file=" + n.cnfPath()
	ours := func(pid int) bool { return n.r == nil || n.r.OwnsProcess(pid) }
	if pid := proc.ReadPidFile(n.pidFile()); pid > 0 && proc.Alive(pid) && cmdlineHas(pid, arg) && ours(pid) {
		return pid
	}
	if _, err := os.Stat(n.cnfPath()); err != nil {
		return 0 // no configuration: no server of this node can run
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cmdlineHas(pid, arg) && proc.Alive(pid) && isMariadbd(pid) && ours(pid) {
			return pid
		}
	}
	return 0
}

func cmdlineHas(pid int, arg string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, a := range strings.Split(string(b), "\x00") {
		if a == arg {
			return true
		}
	}
	return false
}

func isMariadbd(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "mariadbd")
}

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
	pid, err := n.r.StartDaemon(bin, args, n.Dir, n.outLog())
	if err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	if err := d.waitReady(ctx, c, n, pid, galera); err != nil {
		return err
	}
	_ = n.r.Remove(n.initFile())
	return nil
}

// waitReady waits until the server answers as the admin user (and, with
// galera, is synced). pid, when not 0, is watched: if it exits, the error
// carries the end of the error log.
func (d *Driver) waitReady(ctx context.Context, c *engine.Cluster, n *node, pid int, galera bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	db := openSocket(n.socket(), c.AdminPassword, time.Second)
	defer func() { _ = db.Close() }()
	var last error
	for {
		if pid > 0 && !proc.Alive(pid) {
			return fmt.Errorf("node %s: mariadbd exited during start: %s", n.ID, errorLogTail(n))
		}
		if pid == 0 && serverPID(n) == 0 {
			return fmt.Errorf("node %s: mariadbd is not running: %s", n.ID, errorLogTail(n))
		}
		last = probe(ctx, db, galera)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: not ready: %w (last error: %v; log: %s)", n.ID, ctx.Err(), last, errorLogTail(n))
		case <-time.After(100 * time.Millisecond):
		}
	}
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
	pid := serverPID(n)
	if pid == 0 {
		return nil
	}
	d.log.Info("stopping mariadbd", "node", n.ID, "pid", pid)
	done := make(chan struct{})
	go func() { proc.Terminate(pid, grace); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop node %s: %w", n.ID, ctx.Err())
	}
	if proc.Alive(pid) {
		return fmt.Errorf("stop node %s: process %d still runs", n.ID, pid)
	}
	return nil
}

// errorLogTail returns the interesting end of a node's error log.
func errorLogTail(n *node) string {
	b, err := os.ReadFile(n.errorLog())
	if err != nil {
		b, _ = os.ReadFile(n.outLog())
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
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
