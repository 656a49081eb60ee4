// Package layout says where each datastore's servers keep their files and
// builds the engine drivers' view of a recorded datastore (engine.Cluster).
// The reconciler, telemetry and backups all reach a datastore's servers
// through it, so they find them exactly where the reconciler put them.
//
// Files of a datastore live in two trees, both private to the datastore's
// OS account (0700):
//
//	DATA_DIR/clusters/<datastore ID>/nodes/<first 8 of instance ID>/   data, configuration, logs
//	RUN_DIR/<16 of datastore ID>/<first 8 of instance ID>/             Unix sockets, pid files
//
// The runtime tree is short whatever the data dir's length, so socket paths
// always fit in the 108 bytes of sun_path.
package layout

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

// MaxSocketPath is the longest Unix socket path the kernel takes (sun_path
// is 108 bytes with its terminating NUL).
const MaxSocketPath = 107

// LongestSocketName is the longest name of a socket (or of its lock file)
// any engine puts in a node's runtime directory: PostgreSQL's
// ".s.PGSQL.<port>.lock" for a five-digit port.
const LongestSocketName = len(".s.PGSQL.65535.lock")

// Layout is where one dbaasd keeps datastores.
type Layout struct {
	// DataDir is dbaasd's data directory.
	DataDir string
	// RunDir is the base of the runtime directories; "" puts each node's
	// sockets in its own directory (Node.Dir/run), for tests of drivers.
	RunDir string
	// EngineHost is the address servers listen on.
	EngineHost string
	// ArchiveDir, when set, returns where a datastore's engine archives
	// its log for point-in-time recovery.
	ArchiveDir func(datastoreID string) string
}

// ClusterDir is where a datastore's servers keep their files.
func (l Layout) ClusterDir(datastoreID string) string {
	return filepath.Join(l.DataDir, "clusters", datastoreID)
}

// ClusterRunDir is a datastore's runtime directory ("" without RunDir).
func (l Layout) ClusterRunDir(datastoreID string) string {
	if l.RunDir == "" {
		return ""
	}
	return filepath.Join(l.RunDir, shortID(datastoreID, 16))
}

// nodeName is the name of an instance's directories.
func nodeName(instanceID string) string {
	if len(instanceID) > 8 {
		return instanceID[:8]
	}
	return instanceID
}

// CheckSocketPaths reports an error when the longest socket path this
// layout builds does not fit in sun_path, naming what to change.
func (l Layout) CheckSocketPaths() error {
	if l.RunDir == "" {
		return nil
	}
	longest := filepath.Join(l.RunDir, strings.Repeat("x", 16), strings.Repeat("x", 8), strings.Repeat("x", LongestSocketName))
	if len(longest) > MaxSocketPath {
		return fmt.Errorf("runtime directory %s is too long: socket paths in it would reach %d characters, "+
			"more than the %d Unix sockets allow; choose a --run-dir of at most %d characters",
			l.RunDir, len(longest), MaxSocketPath, len(l.RunDir)-(len(longest)-MaxSocketPath))
	}
	return nil
}

// Cluster builds the driver's view of a datastore from what is recorded.
// Instances marked for removal are left out, so Ensure removes them.
func (l Layout) Cluster(ds *model.Datastore, typ *model.DatastoreType, insts []model.Instance) *engine.Cluster {
	dir := l.ClusterDir(ds.ID)
	runDir := l.ClusterRunDir(ds.ID)
	c := &engine.Cluster{
		ID: ds.ID, Engine: typ.Engine, Version: typ.Version, Dir: dir, RunDir: runDir,
		Flavor:        engine.Flavor{VCPUs: ds.Flavor.VCPUs, RAMMB: ds.Flavor.RAM, DiskGB: ds.Flavor.Disk},
		Config:        copyMap(ds.Config),
		Firewall:      append([]string{}, ds.Firewall...),
		AdminPassword: ds.AdminPassword, Password: ds.RedisPassword,
		BackupRetentionDays: ds.BackupRetentionDays,
	}
	for _, in := range insts {
		if in.Status == model.StatusPendingDelete || in.ID == "" {
			continue
		}
		n := engine.Node{
			ID: in.ID, Index: in.Index, Role: in.Role, Host: in.Host, Port: in.Port, FloatingIP: in.FloatingIP,
			Dir: filepath.Join(dir, "nodes", nodeName(in.ID)),
		}
		if runDir != "" {
			n.RunDir = filepath.Join(runDir, nodeName(in.ID))
		}
		c.Nodes = append(c.Nodes, n)
	}
	if l.ArchiveDir != nil {
		c.ArchiveDir = l.ArchiveDir(ds.ID)
	}
	if ds.Pooler != nil && ds.PoolerPort != 0 {
		host := l.EngineHost
		if m := c.Master(); m != nil {
			host = m.Host
		}
		c.Pooler = &engine.Pooler{Mode: ds.Pooler.Mode, Size: ds.Pooler.Size, Host: host, Port: ds.PoolerPort}
	}
	return c
}

// shortID keeps the first n letters and digits of an ID, lower case.
func shortID(id string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			if b.Len() == n {
				break
			}
		}
	}
	return b.String()
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
