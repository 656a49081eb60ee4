package e2e_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// degradationOptions are the options of the degradation tests' dbaasd: a
// quick probe and a short first back-off, so a retry comes within seconds.
var degradationOptions = at.Options{Reconcile: true, ProbeInterval: 200 * time.Millisecond, RetryAfter: 2 * time.Second}

// breakAndHeal is the scenario of every degradation test: the datastore's
// server dies while something it needs is broken; the repair fails and the
// datastore ends in ERROR with an action error that contains want (what a
// person needs to see to act); then fix removes the cause and, without
// anyone asking, a retry brings the datastore back to ACTIVE.
func breakAndHeal(t *testing.T, e *at.Env, ds, want string, kill func(), fix func()) {
	t.Helper()
	kill()
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ERROR", 3*wait)
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds+"&status=ERROR", nil).Get("actions").([]any)
	if len(acts) == 0 {
		t.Fatalf("no failed action: %s", r.Body)
	}
	msg, _ := acts[len(acts)-1].(map[string]any)["error"].(string)
	if !strings.Contains(msg, want) {
		t.Errorf("the action error does not say what is wrong (want %q): %q", want, msg)
	}
	fix()
	healed := time.Now().Add(3 * wait)
	for {
		s := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.status")
		if s == "ACTIVE" {
			break
		}
		if time.Now().After(healed) {
			t.Fatalf("still %s after the cause was fixed", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if retries := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds+"&request_id=dbaasd-retry", nil); len(retries.Get("actions").([]any)) == 0 {
		t.Errorf("no retry action recorded: %s", retries.Body)
	}
}

// killPidFiles kills (SIGKILL) the processes of a datastore's pid files
// matching pattern under its node directories.
func killPidFiles(t *testing.T, dataDir, ds, pattern string) {
	t.Helper()
	killGlob(t, filepath.Join(dataDir, "clusters", ds, "nodes", "*", pattern))
}

// killRunPidFiles is killPidFiles for the pid files in the nodes' runtime
// directories (Redis' processes).
func killRunPidFiles(t *testing.T, ds, name string) {
	t.Helper()
	killGlob(t, filepath.Join(layout.Layout{RunDir: daemon.DefaultRunDir()}.ClusterRunDir(ds), "*", name))
}

func killGlob(t *testing.T, pattern string) {
	t.Helper()
	matches, _ := filepath.Glob(pattern)
	killed := 0
	for _, m := range matches {
		if pid := proc.ReadPidFile(m); pid > 0 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d processes of %s, want 1", killed, pattern)
	}
}

// TestPortTakenEndsInErrorAndHeals takes the port of a datastore's server
// while the server is down: the engine's own "Address already in use" is
// the action error, and freeing the port heals the datastore.
func TestPortTakenEndsInErrorAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, degradationOptions)
	ds := e.CreateDatastore(at.TokenA, "postgresql", "squatted", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master := r.Str("datastore.connection.master")
	var squatter net.Listener
	defer func() {
		if squatter != nil {
			_ = squatter.Close()
		}
	}()
	breakAndHeal(t, e, ds, "Address already in use", func() {
		killPidFiles(t, e.DataDir, ds, "data/postmaster.pid")
		deadline := time.Now().Add(10 * time.Second)
		for squatter == nil {
			l, err := net.Listen("tcp", master)
			if err == nil {
				squatter = l
			} else if time.Now().After(deadline) {
				t.Fatalf("could not take %s: %v", master, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}, func() { _ = squatter.Close() })
	if c, err := net.DialTimeout("tcp", master, 2*time.Second); err != nil {
		t.Errorf("the healed server does not accept connections: %v", err)
	} else {
		_ = c.Close()
	}
}

// TestCorruptConfigEndsInErrorAndHeals breaks postgresql.auto.conf, the one
// configuration file of a node that dbaasd does not rewrite from desired
// state (ALTER SYSTEM writes it): the server's own syntax error, naming the
// file, is the action error, and repairing the file heals the datastore.
// (The files dbaasd owns — postgresql.conf, conf.d, pg_hba.conf — are
// rewritten by every repair, so breaking them heals without an ERROR.)
func TestCorruptConfigEndsInErrorAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, degradationOptions)
	ds := e.CreateDatastore(at.TokenA, "postgresql", "corrupt", 1)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	autoConfs, _ := filepath.Glob(filepath.Join(e.DataDir, "clusters", ds, "nodes", "*", "data", "postgresql.auto.conf"))
	if len(autoConfs) != 1 {
		t.Fatalf("postgresql.auto.conf files: %v", autoConfs)
	}
	good, err := os.ReadFile(autoConfs[0])
	if err != nil {
		t.Fatal(err)
	}
	breakAndHeal(t, e, ds, "postgresql.auto.conf", func() {
		if err := os.WriteFile(autoConfs[0], append(append([]byte{}, good...), "this line is no setting\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
		killPidFiles(t, e.DataDir, ds, "data/postmaster.pid")
	}, func() {
		if err := os.WriteFile(autoConfs[0], good, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMissingBinaryEndsInErrorAndHeals removes redis-server from the
// search path while a Redis datastore's server is down: "redis-server not
// found … is the engine installed?" is the action error, and putting the
// binary back heals the datastore. It changes PATH, so it does not run in
// parallel (parallel tests wait until it is done).
func TestMissingBinaryEndsInErrorAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	real, err := proc.FindBinary("redis-server")
	if err != nil {
		t.Skip(err)
	}
	// PATH becomes one directory holding links to everything in PATH but
	// Redis' binaries, readable by the engines' user; redis-server comes
	// and goes as a link of its own.
	bin, err := os.MkdirTemp("", "dbaasd-path-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(bin) })
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if strings.HasPrefix(en.Name(), "redis-") {
				continue
			}
			_ = os.Symlink(filepath.Join(dir, en.Name()), filepath.Join(bin, en.Name())) // the first in PATH wins
		}
	}
	link := filepath.Join(bin, "redis-server")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	if p, err := proc.FindBinary("redis-server"); err != nil || p != link {
		t.Skipf("redis-server is also found outside PATH (%s, %v)", p, err)
	}
	e := at.Start(t, degradationOptions)
	ds := e.CreateDatastore(at.TokenA, "redis", "no-binary", 1)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	breakAndHeal(t, e, ds, "redis-server not found", func() {
		if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
		killRunPidFiles(t, ds, "redis.pid")
	}, func() {
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFullDiskEndsInErrorAndHeals creates a datastore while the file
// system of the clusters is full: "no space left on device" is the action
// error, and once space is freed a retry builds the datastore. It mounts a
// small tmpfs, so it runs only as root.
func TestFullDiskEndsInErrorAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	t.Parallel()
	e := at.Start(t, degradationOptions)
	clusters := filepath.Join(e.DataDir, "clusters")
	if err := os.MkdirAll(clusters, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", clusters, "tmpfs", 0, "size=192m,mode=0755"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	// Runs before the engines are destroyed: lazily, so a server still
	// running there does not keep it mounted.
	t.Cleanup(func() { _ = syscall.Unmount(clusters, syscall.MNT_DETACH) })
	filler := filepath.Join(clusters, "filler")
	fillDisk(t, filler)

	ds := e.CreateDatastore(at.TokenA, "postgresql", "full-disk", 1)
	breakAndHeal(t, e, ds, "no space left on device", func() {}, func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	})
	if d := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+ds, nil); d.Status >= 300 {
		t.Fatalf("delete: %d %s", d.Status, d.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+ds, wait)
}

// fillDisk writes a file until its file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !strings.Contains(err.Error(), "no space left on device") {
				t.Fatal(err)
			}
			return
		}
	}
}
