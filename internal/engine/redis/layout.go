package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// paths are the files of one node.
type paths struct {
	dir           string
	conf          string // redis.conf
	sentinelConf  string
	forwarderConf string
	state         string
	data          string
	log           string
	run           string
	serverLog     string
	sentinelLog   string
	forwarderLog  string
	serverPid     string
	sentinelPid   string
	forwarderPid  string
	serverSock    string
	sentinelSock  string
}

func nodePaths(n *engine.Node) paths {
	d := n.Dir
	run := n.SocketDir()
	log := filepath.Join(d, "log")
	return paths{
		dir:           d,
		conf:          filepath.Join(d, "redis.conf"),
		sentinelConf:  filepath.Join(d, "sentinel.conf"),
		forwarderConf: filepath.Join(d, "forwarder.json"),
		state:         filepath.Join(d, "state.json"),
		data:          filepath.Join(d, "data"),
		log:           log,
		run:           run,
		serverLog:     filepath.Join(log, "redis.log"),
		sentinelLog:   filepath.Join(log, "sentinel.log"),
		forwarderLog:  filepath.Join(log, "forwarder.log"),
		serverPid:     filepath.Join(run, "redis.pid"),
		sentinelPid:   filepath.Join(run, "sentinel.pid"),
		forwarderPid:  filepath.Join(run, "forwarder.pid"),
		serverSock:    filepath.Join(run, "redis.sock"),
		sentinelSock:  filepath.Join(run, "sentinel.sock"),
	}
}

// maxSocketPath is the longest Unix socket path the kernel accepts.
const maxSocketPath = 107

// claimDirs makes the cluster's directory and runtime directory private
// directories of its OS account.
func claimDirs(r *proc.Runner, c *engine.Cluster) error {
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := r.ClaimDir(dir); err != nil {
			return fmt.Errorf("cluster %s: %w", c.ID, err)
		}
	}
	return nil
}

// makeDirs creates the node's directories (0700), as the cluster's OS
// account, inside the cluster's directories (see claimDirs).
func makeDirs(r *proc.Runner, p paths) error {
	if len(p.sentinelSock) > maxSocketPath {
		return fmt.Errorf("%w: node directory %s: socket path %s is longer than %d characters", engine.ErrInvalid, p.dir, p.sentinelSock, maxSocketPath)
	}
	for _, d := range []string{p.dir, p.data, p.log, p.run} {
		if err := r.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// nodeState is what the driver recorded for a node, kept in state.json.
type nodeState struct {
	// SentinelPort is the TCP port of the node's sentinel (0 = none yet),
	// as dbaasd last allocated it (engine.Node.Ports).
	SentinelPort int `json:"sentinel_port,omitempty"`
	// RestartPending is set while a config change that needs a restart has
	// been written but the server not yet restarted with it.
	RestartPending bool `json:"restart_pending,omitempty"`
}

// readState reads a node's state.json, as the cluster's OS account (the
// file is in its directory).
func readState(r *proc.Runner, p paths) (nodeState, error) {
	var st nodeState
	b, err := r.ReadFile(p.state)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", p.state, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse %s: %w", p.state, err)
	}
	return st, nil
}

func writeState(r *proc.Runner, p paths, st nodeState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	_, err := r.WriteFile(p.state, append(b, '\n'), 0o600)
	return err
}

// registryFile is the cluster-level record of the nodes the driver created.
func registryFile(c *engine.Cluster) string {
	return filepath.Join(c.Dir, "redis-nodes.json")
}

// registeredNode is one node in the registry.
type registeredNode struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	Port int    `json:"port"`
	Dir  string `json:"dir"`
}

// node is the registered node as a node of c. The registry is in a
// directory the cluster's OS account owns: its directories are taken from
// c's layout (the registered directory's name only), never as written.
func (rn registeredNode) node(c *engine.Cluster) engine.Node {
	n := engine.Node{ID: rn.ID, Host: rn.Host, Port: rn.Port, Role: engine.RoleReplica}
	name := filepath.Base(rn.Dir)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		return n
	}
	n.Dir = filepath.Join(c.Dir, "nodes", name)
	if c.RunDir != "" {
		n.RunDir = filepath.Join(c.RunDir, name)
	}
	return n
}

func readRegistry(r *proc.Runner, c *engine.Cluster) ([]registeredNode, error) {
	if c.Dir == "" {
		return nil, nil
	}
	b, err := r.ReadFile(registryFile(c))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", registryFile(c), err)
	}
	var nodes []registeredNode
	if err := json.Unmarshal(b, &nodes); err != nil {
		return nil, fmt.Errorf("parse %s: %w", registryFile(c), err)
	}
	return nodes, nil
}

func writeRegistry(r *proc.Runner, c *engine.Cluster, nodes []registeredNode) error {
	if c.Dir == "" {
		return errors.New("cluster has no directory")
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	b, _ := json.MarshalIndent(nodes, "", "  ")
	_, err := r.WriteFile(registryFile(c), append(b, '\n'), 0o600)
	return err
}

// staleNodes returns the registered nodes the cluster no longer lists.
func staleNodes(c *engine.Cluster, reg []registeredNode) []engine.Node {
	want := map[string]bool{}
	for _, n := range c.Nodes {
		want[n.ID] = true
	}
	var out []engine.Node
	for _, rn := range reg {
		if !want[rn.ID] {
			out = append(out, rn.node(c))
		}
	}
	return out
}

// listenIP is the address the node's processes bind to.
func listenIP(n *engine.Node) string {
	if n.Host == "" {
		return "127.0.0.1"
	}
	return n.Host
}

// reachIP is the address other processes use to reach the node: its host,
// or loopback when the host is a wildcard address.
func reachIP(n *engine.Node) string {
	ip := net.ParseIP(n.Host)
	if n.Host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return n.Host
}

// sourceIP is the address the node's outgoing connections (replication,
// sentinel links) come from, "" when the kernel should choose.
func sourceIP(n *engine.Node) string {
	ip := net.ParseIP(n.Host)
	if ip == nil || ip.IsUnspecified() {
		return ""
	}
	return n.Host
}

// addr is host:port.
func addr(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// cmdlineMentions recognises a process whose command line mentions one of
// words (guards against a recycled process ID).
func cmdlineMentions(words ...string) func(int, []string) bool {
	return func(_ int, argv []string) bool {
		cmd := strings.Join(argv, " ")
		for _, w := range words {
			if strings.Contains(cmd, w) {
				return true
			}
		}
		return false
	}
}

// The processes of a node, found by their pid files in the node's runtime
// directory: pid files are in the cluster account's directories, so
// whatever one says, only the account's processes count (proc.Daemon).

// serverProcess is node n's redis-server (daemonize no, in a session of
// its own: proc.Daemon.Command); it saves its dataset when it stops.
func serverProcess(r *proc.Runner, n *engine.Node) *proc.Daemon {
	p := nodePaths(n)
	return &proc.Daemon{
		Name:      "node " + n.ID + ": redis-server",
		Runner:    r,
		Log:       p.serverLog,
		PidFile:   p.serverPid,
		Recognise: cmdlineMentions(serverWords...),
		StopGrace: shutdownGrace,
	}
}

// sentinelProcess is node n's redis-sentinel, started as the server is.
func sentinelProcess(r *proc.Runner, n *engine.Node) *proc.Daemon {
	p := nodePaths(n)
	return &proc.Daemon{
		Name:      "node " + n.ID + ": redis-sentinel",
		Runner:    r,
		Log:       p.sentinelLog,
		PidFile:   p.sentinelPid,
		Recognise: cmdlineMentions(sentinelWords...),
		StopGrace: 10 * time.Second,
	}
}

// forwarderProcess is node n's firewall forwarder (RunForwarder), started
// by dbaasd, which writes its pid file at once (the forwarder rewrites the
// same value once it is ready), so that nothing starts a second forwarder
// meanwhile.
func forwarderProcess(r *proc.Runner, n *engine.Node) *proc.Daemon {
	p := nodePaths(n)
	return &proc.Daemon{
		Name:      "node " + n.ID + ": firewall forwarder",
		Runner:    r,
		Dir:       p.dir,
		Log:       p.forwarderLog,
		PidFile:   p.forwarderPid,
		WritePid:  true,
		Recognise: cmdlineMentions(p.forwarderConf),
		StopGrace: 5 * time.Second,
	}
}
