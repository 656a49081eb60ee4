package postgres

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

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
	socketDir string // Unix socket directory
	port      int
}

func pathsOf(n *engine.Node) nodePaths {
	return nodePaths{
		id:        n.ID,
		dir:       n.Dir,
		data:      filepath.Join(n.Dir, "data"),
		log:       filepath.Join(n.Dir, "log"),
		socketDir: socketDir(filepath.Join(n.Dir, "run"), "dbaasd-pg-", n.ID, n.Port),
		port:      n.Port,
	}
}

// LogDir returns the directory holding a node's server logs.
func LogDir(n *engine.Node) string { return filepath.Join(n.Dir, "log") }

// socketDir returns preferred when a socket for port fits in it, and a short
// directory under /tmp derived from id otherwise.
func socketDir(preferred, prefix, id string, port int) string {
	if len(filepath.Join(preferred, fmt.Sprintf(".s.PGSQL.%d", port))) <= maxSocketPath {
		return preferred
	}
	return filepath.Join("/tmp", prefix+compactID(id))
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
// can recognise node directories that are no longer desired, and clean up
// what lives outside them (their slot, their /tmp socket directory).
type nodeMarker struct {
	NodeID    string `json:"node_id"`
	ClusterID string `json:"cluster_id"`
	Port      int    `json:"port"`
	SocketDir string `json:"socket_dir"`
}

func (d *Driver) writeMarker(e *env, c *engine.Cluster, p nodePaths) error {
	b, _ := json.MarshalIndent(nodeMarker{NodeID: p.id, ClusterID: c.ID, Port: p.port, SocketDir: p.socketDir}, "", "  ")
	_, err := e.r.WriteFile(filepath.Join(p.dir, markerFile), append(b, '\n'), 0o640)
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

// pathsFromMarker rebuilds the paths of a node known only by its directory.
func pathsFromMarker(dir string, m nodeMarker) nodePaths {
	p := pathsOf(&engine.Node{ID: m.NodeID, Dir: dir, Port: m.Port})
	if m.SocketDir != "" {
		p.socketDir = m.SocketDir
	}
	return p
}

// ensureSocketDir creates a private (0700) socket directory owned by the
// engines' OS user. Under /tmp anyone may have created that name first: a
// directory that is not ours, or a symbolic link, is replaced, and the
// result is checked.
func ensureSocketDir(r *proc.Runner, dir string) error {
	ours := func() bool {
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		return ok && int(sys.Uid) == r.UID
	}
	if exists(dir) && !ours() {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("replace socket directory %s: %w", dir, err)
		}
	}
	if err := r.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !ours() {
		return fmt.Errorf("socket directory %s is not a directory of OS user %s", dir, r.User)
	}
	return nil
}

// removeSocketDir removes a node's socket directory when it lives under
// /tmp (one inside the node directory goes with it).
func removeSocketDir(p nodePaths) error {
	if !strings.HasPrefix(p.socketDir, "/tmp/dbaasd-") {
		return nil
	}
	if err := os.RemoveAll(p.socketDir); err != nil {
		return fmt.Errorf("remove socket directory: %w", err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
