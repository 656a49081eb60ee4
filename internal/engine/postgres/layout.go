package postgres

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

const (
	// LogFilePattern is the log_filename of every server: one file per day
	// of the week in <node.Dir>/log, truncated when the week wraps around,
	// so a node keeps at most seven days of logs.
	LogFilePattern = "postgresql-%a.log"
	// LogLinePrefix is the log_line_prefix of every server: timestamp with
	// milliseconds, [pid], and user@database for session processes.
	LogLinePrefix = "%m [%p] %q%u@%d "

	// superuser is the bootstrap superuser dbaasd connects as (Unix socket, trust).
	superuser = "postgres"
	// markerFile identifies a node directory; see nodeMarker.
	markerFile = "dbaasd-node.json"
	// maxSocketPath is the longest Unix socket path we use (sun_path is 108
	// bytes with its terminating NUL; keep a margin).
	maxSocketPath = 100
)

// nodePaths are the files and directories of one node.
type nodePaths struct {
	id        string
	dir       string // Node.Dir
	data      string // data directory
	log       string // log directory
	socketDir string // Unix socket directory (Node.SocketDir)
	port      int
}

func pathsOf(n *engine.Node) nodePaths {
	return nodePaths{
		id:        n.ID,
		dir:       n.Dir,
		data:      filepath.Join(n.Dir, "data"),
		log:       filepath.Join(n.Dir, "log"),
		socketDir: n.SocketDir(),
		port:      n.Port,
	}
}

// LogDir returns the directory holding a node's server logs.
func LogDir(n *engine.Node) string { return filepath.Join(n.Dir, "log") }

// checkSocketPath reports an error when a node's socket would not fit in
// sun_path (dbaasd checks its runtime directory at start; this catches
// clusters built by hand).
func checkSocketPath(p nodePaths) error {
	sock := filepath.Join(p.socketDir, fmt.Sprintf(".s.PGSQL.%d.lock", p.port))
	if len(sock) > maxSocketPath {
		return fmt.Errorf("%w: node %s: socket path %s is longer than %d characters", engine.ErrInvalid, p.id, sock, maxSocketPath)
	}
	return nil
}

// compactID keeps the letters and digits of an ID (a UUID without dashes).
func compactID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return strings.ToLower(b.String())
}

// slotName is the physical replication slot of a replica on the primary;
// it is also the replica's application_name in pg_stat_replication.
func slotName(nodeID string) string {
	id := compactID(nodeID)
	if len(id) > 8 {
		id = id[:8]
	}
	return internalSlotPrefix + id
}

// internalSlotPrefix starts the names of dbaasd's own (physical) slots.
const internalSlotPrefix = "dbaasd_node_"

// nodeMarker is stored in every node directory so that Ensure and Destroy
// can recognise node directories that are no longer desired. It lives in a
// directory the cluster's OS account owns, so dbaasd takes nothing from it
// but the node's ID and port: paths come from the cluster's layout.
type nodeMarker struct {
	NodeID    string `json:"node_id"`
	ClusterID string `json:"cluster_id"`
	Port      int    `json:"port"`
}

func (d *Driver) writeMarker(e *env, c *engine.Cluster, p nodePaths) error {
	b, _ := json.MarshalIndent(nodeMarker{NodeID: p.id, ClusterID: c.ID, Port: p.port}, "", "  ")
	_, err := e.r.WriteFile(filepath.Join(p.dir, markerFile), append(b, '\n'), 0o600)
	return err
}

func readMarker(dir string) (nodeMarker, error) {
	var m nodeMarker
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, markerFile), err)
	}
	return m, nil
}

// pathsFromMarker rebuilds the paths of a node of c known only by its
// directory (a node no longer desired).
func pathsFromMarker(c *engine.Cluster, dir string, m nodeMarker) nodePaths {
	n := engine.Node{ID: m.NodeID, Dir: dir, Port: m.Port}
	if c.RunDir != "" {
		n.RunDir = filepath.Join(c.RunDir, filepath.Base(dir))
	}
	return pathsOf(&n)
}

// ensureSocketDir creates a node's private (0700) socket directory, owned
// by the cluster's OS account; anything else in its place is replaced.
func ensureSocketDir(r *proc.Runner, dir string) error {
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		if err := r.Remove(dir); err != nil {
			return fmt.Errorf("replace %s: %w", dir, err)
		}
	}
	if err := r.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !r.Owns(dir) {
		return fmt.Errorf("socket directory %s is not a directory of OS user %s", dir, r.User)
	}
	return nil
}

// removeSocketDir removes a node's socket directory when it lives in the
// cluster's runtime directory (one inside the node directory goes with it).
func removeSocketDir(r *proc.Runner, c *engine.Cluster, p nodePaths) error {
	if c.RunDir == "" || filepath.Dir(p.socketDir) != filepath.Clean(c.RunDir) {
		return nil
	}
	if err := r.RemoveAll(p.socketDir); err != nil {
		return fmt.Errorf("remove socket directory: %w", err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
