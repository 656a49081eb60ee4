package layout

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/model"
)

func TestCheckSocketPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		runDir string
		ok     bool
	}{
		{"", true},
		{"/run/dbaasd", true},
		{"/" + strings.Repeat("r", 60), true},
		{"/" + strings.Repeat("r", 61), false},
		{"/" + strings.Repeat("r", 150), false},
	} {
		err := Layout{RunDir: tc.runDir}.CheckSocketPaths()
		if (err == nil) != tc.ok {
			t.Errorf("CheckSocketPaths(%d characters) = %v, want ok %v", len(tc.runDir), err, tc.ok)
		}
	}
}

// Socket paths do not depend on the data dir: a data dir of 150
// characters still gives nodes a short runtime directory.
func TestClusterRunDirs(t *testing.T) {
	t.Parallel()
	l := Layout{DataDir: "/" + strings.Repeat("d", 150), RunDir: "/run/dbaasd", EngineHost: "127.0.0.1",
		ArchiveDir: func(id string) string { return "/backups/" + id + "/wal" }}
	ds := &model.Datastore{Base: model.Base{ID: "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f"}, Pooler: &model.Pooler{Mode: "session", Size: 5}, PoolerPort: 7000}
	typ := &model.DatastoreType{Engine: "postgresql", Version: "15"}
	insts := []model.Instance{
		{ID: "aaaaaaaa-1111-2222-3333-444444444444", Role: "MASTER", Host: "127.0.0.1", Port: 6000},
		{ID: "bbbbbbbb-1111-2222-3333-444444444444", Role: "REPLICA", Host: "127.0.0.1", Port: 6001},
		{ID: "cccccccc-1111-2222-3333-444444444444", Role: "REPLICA", Status: model.StatusPendingDelete},
	}
	c := l.Cluster(ds, typ, insts)
	if c.RunDir != "/run/dbaasd/6f1c2d3e4a5b6c7d" {
		t.Errorf("cluster run dir = %s", c.RunDir)
	}
	if len(c.Nodes) != 2 {
		t.Fatalf("%d nodes, want 2 (the one being removed left out)", len(c.Nodes))
	}
	for _, n := range c.Nodes {
		if filepath.Dir(n.RunDir) != c.RunDir || filepath.Base(n.RunDir) != filepath.Base(n.Dir) {
			t.Errorf("node %s: run dir %s, dir %s: want the same name under the cluster's run dir", n.ID, n.RunDir, n.Dir)
		}
		if sock := filepath.Join(n.SocketDir(), ".s.PGSQL.65535.lock"); len(sock) > MaxSocketPath {
			t.Errorf("socket path %s is %d characters", sock, len(sock))
		}
	}
	if c.Pooler == nil || c.Pooler.Port != 7000 || c.ArchiveDir != "/backups/"+ds.ID+"/wal" {
		t.Errorf("pooler %+v, archive %s", c.Pooler, c.ArchiveDir)
	}
	if got := (Layout{DataDir: "/d"}).Cluster(ds, typ, insts[:1]); got.RunDir != "" || got.Nodes[0].SocketDir() != "/d/clusters/"+ds.ID+"/nodes/aaaaaaaa/run" {
		t.Errorf("without a run dir: %s, %s", got.RunDir, got.Nodes[0].SocketDir())
	}
}
