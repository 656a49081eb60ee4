package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

func TestSocketDir(t *testing.T) {
	t.Parallel()
	plain := pathsOf(&engine.Node{ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", Dir: "/var/lib/dbaasd/c/nodes/1b4e28ba", Port: 6000})
	if plain.socketDir != "/var/lib/dbaasd/c/nodes/1b4e28ba/run" {
		t.Errorf("node without a runtime dir: socket dir %s", plain.socketDir)
	}
	long := pathsOf(&engine.Node{ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", Dir: "/" + strings.Repeat("d", 150),
		RunDir: "/run/dbaasd/1b4e28ba2fa111d2/1b4e28ba", Port: 6000})
	if long.socketDir != "/run/dbaasd/1b4e28ba2fa111d2/1b4e28ba" {
		t.Errorf("long node dir: socket dir %s", long.socketDir)
	}
	if err := checkSocketPath(long); err != nil {
		t.Errorf("socket in the runtime dir: %v", err)
	}
	if err := checkSocketPath(pathsOf(&engine.Node{ID: "n", Dir: "/" + strings.Repeat("d", 90), Port: 6000})); err == nil {
		t.Error("a socket path over 100 characters was accepted")
	}
	if got := slotName("1b4e28ba-2fa1-11d2-883f-0016d3cca427"); got != "dbaasd_node_1b4e28ba" {
		t.Errorf("slotName = %s", got)
	}
}

// A switchover (the desired master changes) promotes the replica and
// rebuilds the former primary as a replica; scaling down then removes a
// node, its slot and its runtime directory (long node paths, sockets in a
// short runtime directory).
func TestSwitchoverAndScaleDown(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 2, func(c *engine.Cluster) {
		c.Dir = filepath.Join(c.Dir, strings.Repeat("c", 90))
		c.RunDir = filepath.Join(enginetest.TempDir(t), "c")
		for i := range c.Nodes {
			c.Nodes[i].Dir = filepath.Join(c.Dir, "nodes", c.Nodes[i].ID[:8])
			c.Nodes[i].RunDir = filepath.Join(c.RunDir, c.Nodes[i].ID[:8])
		}
	})
	ctx := enginetest.Ctx(t)
	old, next := c.Nodes[0], c.Nodes[1]
	if p := pathsOf(&old); filepath.Dir(p.socketDir) != c.RunDir {
		t.Fatalf("socket dir %s, want one in %s", p.socketDir, c.RunDir)
	}
	if _, err := superConn(t, &old, "postgres").Exec(ctx, "CREATE TABLE kept AS SELECT 42 AS answer"); err != nil {
		t.Fatal(err)
	}

	c.Nodes[0].Role, c.Nodes[1].Role = engine.RoleReplica, engine.RoleMaster
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after switchover: %v", err)
	}
	enginetest.WaitObserved(t, d, c)
	primary := superConn(t, &next, "postgres")
	if got := queryString(t, primary, "SELECT answer::text FROM kept"); got != "42" {
		t.Fatalf("data on the new primary: %s", got)
	}
	waitFor(t, "the former primary streaming from the new one", func() bool {
		return queryString(t, primary, "SELECT count(*)::text FROM pg_stat_replication WHERE application_name = $1", slotName(old.ID)) == "1"
	})

	c.Nodes = []engine.Node{c.Nodes[1]}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after scale-down: %v", err)
	}
	if _, err := os.Stat(old.Dir); !os.IsNotExist(err) {
		t.Errorf("removed node's directory still there: %v", err)
	}
	if _, err := os.Stat(pathsOf(&old).socketDir); !os.IsNotExist(err) {
		t.Errorf("removed node's socket directory still there: %v", err)
	}
	if got := queryString(t, superConn(t, &next, "postgres"), "SELECT count(*)::text FROM pg_replication_slots"); got != "0" {
		t.Errorf("%s slots left on the primary after scale-down", got)
	}
	if err := d.Destroy(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pathsOf(&next).socketDir); !os.IsNotExist(err) {
		t.Errorf("socket directory still there after Destroy: %v", err)
	}
	for _, dir := range []string{c.Dir, c.RunDir} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cluster directory %s still there after Destroy: %v", dir, err)
		}
	}
}

func TestEnsureSocketDirReplacesForeignEntries(t *testing.T) {
	t.Parallel()
	needsEngine(t)
	r, err := proc.Default()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	_ = os.Chmod(base, 0o755)
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := ensureSocketDir(r, link); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(link)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir = %v (err %v), want a real 0700 directory", st.Mode(), err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o755 {
		t.Fatalf("the symlink's target was changed to %v", st.Mode())
	}
}
