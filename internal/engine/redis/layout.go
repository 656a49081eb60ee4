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

// nodeState is what the driver allocated for a node, kept in state.json.
type nodeState struct {
	// SentinelPort is the TCP port of the node's sentinel (0 = none yet).
	SentinelPort int `json:"sentinel_port,omitempty"`
	// RestartPending is set while a config change that needs a restart has
	// been written but the server not yet restarted with it.
	RestartPending bool `json:"restart_pending,omitempty"`
}

func readState(p paths) (nodeState, error) {
	var st nodeState
	b, err := os.ReadFile(p.state)
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

// sentinelPortFor returns the node's sentinel port, allocating and recording
// one if needed: Port+10000 when that is a valid port free on the node's
// address, otherwise a port the kernel picks. A recorded port is kept unless
// it is taken by something else (owned is true when the node's own sentinel
// or forwarder holds it).
func sentinelPortFor(r *proc.Runner, n *engine.Node, p paths, st *nodeState, owned bool) (int, error) {
	host := listenIP(n)
	if st.SentinelPort > 0 && (owned || proc.PortFree(host, st.SentinelPort)) {
		return st.SentinelPort, nil
	}
	port := 0
	if cand := n.Port + 10000; cand <= 65535 && proc.PortFree(host, cand) {
		port = cand
	} else {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, fmt.Errorf("allocate a sentinel port on %s: %w", host, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	st.SentinelPort = port
	if err := writeState(r, p, *st); err != nil {
		return 0, err
	}
	return port, nil
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

func readRegistry(c *engine.Cluster) ([]registeredNode, error) {
	if c.Dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(registryFile(c))
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

// isProcess reports whether pid is alive and its command line mentions one
// of the words (guards against a recycled process ID).
func isProcess(pid int, words ...string) bool {
	if !proc.Alive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // another user's process we cannot inspect: trust the pid file
	}
	cmd := strings.ReplaceAll(string(b), "\x00", " ")
	for _, w := range words {
		if strings.Contains(cmd, w) {
			return true
		}
	}
	return false
}

// runningPid returns the pid in a pid file if that process runs and looks
// like one of words, else 0.
// The process must be the pid file's owner's (see proc.OwnedPid).
func runningPid(pidFile string, words ...string) int {
	pid := proc.OwnedPid(pidFile)
	if pid > 0 && isProcess(pid, words...) {
		return pid
	}
	return 0
}

// logTail returns the end of a log file, for error messages.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
