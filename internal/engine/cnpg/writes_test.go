package cnpg

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/writes.golden from what the driver sends")

// closedPort is a local TCP port nothing listens on: the driver's SQL
// connections to "the primary" are refused at once.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// testDriver is a driver talking to f.
func testDriver(t *testing.T, f *fakeAPI, store *ObjectStore) *Driver {
	t.Helper()
	cfg := f.config()
	cfg.ContentType = "application/json"
	d, err := New(Options{
		Config:          cfg,
		ImagePullPolicy: "IfNotPresent", StorageClass: "local-path", RequestFraction: 0.5,
		AdminCIDRs: []string{"10.203.0.1/32"}, TrustedCIDRs: []string{"10.244.0.0/16"},
		ObjectStore:  store,
		ReadyTimeout: 2 * time.Second, Poll: 5 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	generated = regexp.MustCompile(`\b(backup|catalog)-[0-9a-z]{6,}\b`)
	// The pooler's lookup role has a certificate of its own, and a key.
	randomTLS = regexp.MustCompile(`"tls\.(crt|key)": "[A-Za-z0-9+/]+={0,2}"`)
	port      = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// outcome renders an error for the record: a failed connection to the
// primary (there is no server) without its details.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	// waitApplied gives up with what its last try met, whichever it was.
	if i := strings.Index(s, "the configuration is not applied"); i >= 0 {
		return "error: " + s[:i] + "the configuration is not applied (no server)"
	}
	if i := strings.Index(s, "connect to the primary"); i >= 0 {
		s = s[:i] + "connect to the primary: refused"
	}
	if strings.Contains(s, "context deadline exceeded") && !strings.Contains(s, "connect to the primary") {
		s += " (timed out)"
	}
	return "error: " + s
}

func observed(o engine.Observation) string {
	var parts []string
	for _, n := range o.Nodes {
		parts = append(parts, fmt.Sprintf("%s %s %s (%s)", n.ID, n.Role, n.Status, n.Detail))
	}
	return strings.Join(parts, "; ")
}

// TestWrites runs the driver's calls against an API server in memory
// (with a stand-in for the operator) and compares every request it makes
// — the objects it creates, the patches it sends, what it deletes and
// reads — and what it concludes, with testdata/writes.golden, which
// holds what the driver sent when it was built on CloudNativePG's own Go
// types and controller-runtime's client. -update rewrites the file.
func TestWrites(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	f.react = operator
	pg := closedPort(t)
	d := testDriver(t, f, nil)
	ds := testDriver(t, f, &ObjectStore{Endpoint: "http://minio.example:9000", Bucket: "bucket", Prefix: "/prefix/",
		AccessKey: "AK", SecretKey: "SK", Region: "eu-1"})
	ctx := context.Background()
	node := func(i int) engine.Node {
		return engine.Node{ID: fmt.Sprintf("n%d", i), Index: i, Host: "127.0.0.1", Port: pg}
	}
	c := &engine.Cluster{ID: "DS1", Engine: engine.PostgreSQL, Version: "15", AdminPassword: "admin-pw",
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Nodes: []engine.Node{node(0)}}
	step := func(format string, args ...any) { f.note(format, args...) }

	step("Info")
	info, err := d.Info(ctx)
	step("→ %+v %s", info, outcome(err))
	step("Catalog (read once)")
	cat, err := d.Catalog(ctx)
	step("→ %d parameters, %d extensions %s", len(cat.Parameters), len(cat.Extensions), outcome(err))
	for _, p := range cat.Parameters {
		step("→ %s changeable=%v restart=%v type=%s", p.Name, p.Changeable, p.RestartRequired, p.Type)
	}

	step("Ensure: a new datastore, one node")
	step("→ %s", outcome(d.Ensure(ctx, c)))
	step("Observe")
	obs, err := d.Observe(ctx, c)
	step("→ %s %s", observed(obs), outcome(err))

	step("EnsureUser app_user")
	step("→ %s", outcome(d.EnsureUser(ctx, c, engine.User{Name: "app_user", Password: "pw-1"})))
	step("EnsureUser app_user, a new password")
	step("→ %s", outcome(d.EnsureUser(ctx, c, engine.User{Name: "app_user", Password: "pw-2"})))
	step("EnsureUser bob")
	step("→ %s", outcome(d.EnsureUser(ctx, c, engine.User{Name: "bob", Password: "pw-3"})))
	step("EnsureUser with a name PostgreSQL would truncate")
	step("→ %s", outcome(d.EnsureUser(ctx, c, engine.User{Name: strings.Repeat("x", 64), Password: "pw"})))

	step("EnsureDatabase appdb with a locale")
	step("→ %s", outcome(d.EnsureDatabase(ctx, c, engine.Database{Name: "appdb", Owner: "app_user", LcCollate: "C", LcCtype: "C"})))
	step("EnsureDatabase appdb again")
	step("→ %s", outcome(d.EnsureDatabase(ctx, c, engine.Database{Name: "appdb", Owner: "app_user", LcCollate: "C", LcCtype: "C"})))
	step("EnsureDatabase other, owned by the superuser")
	step("→ %s", outcome(d.EnsureDatabase(ctx, c, engine.Database{Name: "other"})))
	step("EnsureExtension pg_trgm")
	step("→ %s", outcome(d.EnsureExtension(ctx, c, engine.Extension{Name: "pg_trgm", Database: "appdb"})))
	step("EnsureExtension pg_trgm again")
	step("→ %s", outcome(d.EnsureExtension(ctx, c, engine.Extension{Name: "pg_trgm", Database: "appdb"})))
	step("EnsureExtension earthdistance")
	step("→ %s", outcome(d.EnsureExtension(ctx, c, engine.Extension{Name: "earthdistance", Database: "appdb"})))
	step("DropExtension pg_trgm")
	step("→ %s", outcome(d.DropExtension(ctx, c, engine.Extension{Name: "pg_trgm", Database: "appdb"})))
	step("DropExtension in a database that has no object")
	step("→ %s", outcome(d.DropExtension(ctx, c, engine.Extension{Name: "pg_trgm", Database: "nodb"})))

	step("Ensure: three nodes (one with a floating address), a bigger flavor, configuration, a firewall, a pooler, object storage with 14 days of retention")
	c3 := *c
	c3.BackupRetentionDays = 14
	c3.Nodes = []engine.Node{node(0), node(1), node(2)}
	c3.Nodes[1].FloatingIP = "192.0.2.50"
	c3.Flavor = engine.Flavor{VCPUs: 2, RAMMB: 2048, DiskGB: 10}
	c3.Config = map[string]any{"work_mem": float64(8192), "jit": false, "random_page_cost": 1.5}
	c3.Firewall = []string{"192.0.2.7", "198.51.100.0/24"}
	c3.Pooler = &engine.Pooler{Mode: "transaction", Size: 10, Host: "127.0.0.1", Port: pg + 1}
	step("→ %s", outcome(ds.Ensure(ctx, &c3)))
	step("Ensure again, nothing changed")
	step("→ %s", outcome(ds.Ensure(ctx, &c3)))
	step("the pooler")
	step("→ %s", outcome(ds.ensurePooler(ctx, &c3)))
	step("the pooler, nothing changed")
	step("→ %s", outcome(ds.ensurePooler(ctx, &c3)))
	step("the pooler, another firewall and mode")
	c3.Firewall = []string{"203.0.113.9"}
	c3.Pooler.Mode = "session"
	step("→ %s", outcome(ds.ensurePooler(ctx, &c3)))

	step("Ensure: two nodes, no pooler, no firewall")
	c2 := c3
	c2.Nodes = []engine.Node{node(0), node(1)}
	c2.Firewall, c2.Pooler = nil, nil
	step("→ %s", outcome(ds.Ensure(ctx, &c2)))
	step("the pooler goes")
	step("→ %s", outcome(ds.ensurePooler(ctx, &c2)))
	step("Ensure: one node again")
	c1 := c2
	c1.Nodes = []engine.Node{node(0)}
	step("→ %s", outcome(ds.Ensure(ctx, &c1)))
	step("Ensure: two nodes")
	step("→ %s", outcome(ds.Ensure(ctx, &c2)))

	step("Stop")
	step("→ %s", outcome(ds.Stop(ctx, &c2)))
	step("Observe a hibernated cluster")
	obs, err = ds.Observe(ctx, &c2)
	step("→ %s %s", observed(obs), outcome(err))
	step("Ensure after Stop")
	step("→ %s", outcome(ds.Ensure(ctx, &c2)))

	clusterKey := "/apis/postgresql.cnpg.io/v1/namespaces/dbaasd-ds1/clusters/pg"
	step("Observe a switchover in progress")
	f.edit(clusterKey, func(obj map[string]any) { path(obj, "status")["targetPrimary"] = "pg-2" })
	obs, err = ds.Observe(ctx, &c2)
	step("→ %s %s", observed(obs), outcome(err))
	step("Observe a failing primary and a replica that answers as a primary")
	f.edit(clusterKey, func(obj map[string]any) {
		st := path(obj, "status")
		st["targetPrimary"] = "pg-1"
		st["currentPrimaryFailingSinceTimestamp"] = "2026-01-01T00:01:00Z"
		st["instancesReportedState"] = map[string]any{"pg-1": map[string]any{"isPrimary": true, "timeLineID": 1},
			"pg-2": map[string]any{"isPrimary": true, "timeLineID": 2}}
	})
	obs, err = ds.Observe(ctx, &c2)
	step("→ %s %s", observed(obs), outcome(err))
	step("Observe during a rebuild: status without instance names, a pod being deleted, one not ready")
	f.edit(clusterKey, func(obj map[string]any) {
		st := path(obj, "status")
		delete(st, "instanceNames")
		delete(st, "currentPrimaryFailingSinceTimestamp")
		delete(st, "instancesReportedState")
		st["phase"] = "Waiting for the instances to become active"
	})
	f.edit("/api/v1/namespaces/dbaasd-ds1/pods/pg-1", func(obj map[string]any) {
		path(obj, "metadata")["deletionTimestamp"] = "2026-01-01T00:02:00Z"
	})
	f.edit("/api/v1/namespaces/dbaasd-ds1/pods/pg-2", func(obj map[string]any) {
		obj["status"] = map[string]any{"phase": "Pending", "conditions": []any{
			map[string]any{"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"}},
			"containerStatuses": []any{map[string]any{"name": "postgres", "state": map[string]any{
				"waiting": map[string]any{"reason": "ImagePullBackOff", "message": "back-off"}}}}}
	})
	obs, err = ds.Observe(ctx, &c2)
	step("→ %s %s", observed(obs), outcome(err))

	step("BaseBackup")
	dir := filepath.Join(t.TempDir(), "base")
	bi, err := ds.BaseBackup(ctx, &c2, dir)
	step("→ %s %s %s %s", bi.Kind, bi.StartedAt.Format(time.RFC3339), bi.ConsistentAt.Format(time.RFC3339), outcome(err))
	rec, err := os.ReadFile(filepath.Join(dir, backupFile))
	step("→ record %s %s", strings.ReplaceAll(string(rec), "\n", " "), outcome(err))
	step("BaseBackup without object storage")
	_, err = d.BaseBackup(ctx, &c2, dir)
	step("→ %s", outcome(err))

	step("Restore into a new datastore at a point in time")
	at := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)
	r := &engine.Cluster{ID: "DS2", Engine: engine.PostgreSQL, Version: "15", AdminPassword: "admin-pw-2",
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}, Nodes: []engine.Node{node(0)}, BackupRetentionDays: 7}
	src := engine.RestoreSource{ClusterID: "DS1", BaseDir: dir, Backup: bi, Target: &at}
	step("→ %s", outcome(ds.Restore(ctx, r, src)))
	step("Restore again (the cluster exists)")
	step("→ %s", outcome(ds.Restore(ctx, r, src)))

	step("Destroy")
	step("→ %s", outcome(ds.Destroy(ctx, &c2)))
	step("Stop a destroyed datastore")
	step("→ %s", outcome(ds.Stop(ctx, &c2)))
	step("Observe a destroyed datastore")
	obs, err = ds.Observe(ctx, &c2)
	step("→ %s %s", observed(obs), outcome(err))

	f.mu.Lock()
	got := generated.ReplaceAllString(port.ReplaceAllString(strings.Join(f.log, "\n")+"\n", "127.0.0.1:PORT"), "$1-GENERATED")
	got = randomTLS.ReplaceAllString(got, `"tls.$1": "RANDOM"`)
	got = regexp.MustCompile(fmt.Sprintf(`\b%d\b`, pg)).ReplaceAllString(got, "PORT")
	got = regexp.MustCompile(fmt.Sprintf(`\b%d\b`, pg+1)).ReplaceAllString(got, "PORT+1")
	f.mu.Unlock()
	golden := filepath.Join("testdata", "writes.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestWrites -update writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				lo := max(0, i-15)
				t.Fatalf("requests differ from %s at line %d:\n got: %q\nwant: %q\ngot context:\n%s", golden, i+1, g, w,
					strings.Join(gl[lo:min(len(gl), i+5)], "\n"))
			}
		}
	}
}
