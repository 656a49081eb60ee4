package postgres

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      any
		want    string
		invalid bool
	}{
		{true, "on", false},
		{false, "off", false},
		{float64(64), "64", false},
		{float64(-1), "-1", false},
		{0.25, "0.25", false},
		{1e-05, "0.00001", false},
		{json.Number("12"), "12", false},
		{"64MB", "'64MB'", false},
		{"it's", "'it''s'", false},
		{`C:\dir`, `'C:\\dir'`, false},
		{"", "''", false},
		{"two\nlines", "", true},
		{math.NaN(), "", true},
		{[]string{"x"}, "", true},
	} {
		got, err := formatValue(tc.in)
		if tc.invalid {
			if !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("formatValue(%#v) = %q, %v; want ErrInvalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("formatValue(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestTuning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    engine.Flavor
		want tuning
	}{
		{engine.Flavor{VCPUs: 1, RAMMB: 1024}, tuning{SharedBuffersKB: 262144, EffectiveCacheSizeKB: 786432, MaxConnections: 102,
			WorkMemKB: 4096, MaintenanceWorkMemKB: 65536, MaxWorkerProcesses: 8, MaxParallelWorkers: 1, MaxParallelPerGather: 0, MaxParallelMaintenance: 1}},
		{engine.Flavor{VCPUs: 16, RAMMB: 131072}, tuning{SharedBuffersKB: 33554432, EffectiveCacheSizeKB: 100663296, MaxConnections: 5000,
			WorkMemKB: 6710, MaintenanceWorkMemKB: 2097152, MaxWorkerProcesses: 32, MaxParallelWorkers: 16, MaxParallelPerGather: 4, MaxParallelMaintenance: 4}},
		{engine.Flavor{VCPUs: 2, RAMMB: 128}, tuning{SharedBuffersKB: 32768, EffectiveCacheSizeKB: 98304, MaxConnections: 25,
			WorkMemKB: 4096, MaintenanceWorkMemKB: 65536, MaxWorkerProcesses: 8, MaxParallelWorkers: 2, MaxParallelPerGather: 1, MaxParallelMaintenance: 1}},
	} {
		if got := tuneFor(tc.f); got != tc.want {
			t.Errorf("tuneFor(%+v) =\n %+v, want\n %+v", tc.f, got, tc.want)
		}
	}
}

func TestRenderConf(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{ID: "c1", Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 1},
		Config: map[string]any{"work_mem": "64MB", "Random_Page_Cost": 1.1, "jit": false, "ignored": nil}}
	primary := nodePaths{id: "p", socketDir: "/tmp/dbaasd-pg-p", port: 5432}
	node := nodePaths{id: "0b1c2d3e-aaaa", log: "/n/log", socketDir: "/n/run", port: 5433}
	conf, eff, err := renderConf(confInput{cluster: c, node: node, host: []string{"10.0.0.5", "10.0.0.99"}, primary: &primary})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"work_mem": "'64MB'", "random_page_cost": "1.1", "jit": "off", "shared_buffers": "'262144kB'",
		"listen_addresses": "'10.0.0.5,10.0.0.99'", "port": "5433", "unix_socket_directories": "'/n/run'",
		"primary_slot_name": "'dbaasd_node_0b1c2d3e'", "log_directory": "'/n/log'", "wal_level": "logical",
	} {
		if eff[name] != want {
			t.Errorf("%s = %q, want %q", name, eff[name], want)
		}
	}
	if !strings.Contains(conf, "primary_conninfo = 'host=/tmp/dbaasd-pg-p port=5432 user=postgres application_name=dbaasd_node_0b1c2d3e'") {
		t.Errorf("primary_conninfo missing:\n%s", conf)
	}
	if strings.Index(conf, "work_mem = '64MB'") < strings.Index(conf, "work_mem = '4096kB'") {
		t.Error("the user's work_mem must come after the flavor's")
	}
	for _, bad := range []map[string]any{{"port": 1}, {"ssl": true}, {"bad name": 1}, {"archive_command": "x"}, {"work_mem": []any{}}} {
		c.Config = bad
		if _, _, err := renderConf(confInput{cluster: c, node: node}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("renderConf with %v = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestConfigReloadAndRestart(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 1)
	ctx := enginetest.Ctx(t)
	n := &c.Nodes[0]
	p := pathsOf(n)
	show := func(name string) string {
		conn := superConn(t, n, "postgres")
		return queryString(t, conn, "SHOW "+name)
	}
	ensure := func() {
		t.Helper()
		if err := d.Ensure(ctx, c); err != nil {
			t.Fatalf("Ensure with %v: %v", c.Config, err)
		}
	}
	pid := serverPID(p)

	// Nothing changed: no rewrite, no restart.
	confPath := filepath.Join(p.data, "conf.d", "dbaasd.conf")
	before := modTime(confPath)
	ensure()
	if !modTime(confPath).Equal(before) || serverPID(p) != pid {
		t.Fatal("an Ensure that changed nothing rewrote the configuration or restarted the server")
	}

	c.Config = map[string]any{"work_mem": "64MB", "statement_timeout": float64(5000)}
	ensure()
	if got := show("work_mem"); got != "64MB" {
		t.Fatalf("work_mem = %s after reload, want 64MB", got)
	}
	if got := show("statement_timeout"); got != "5s" {
		t.Fatalf("statement_timeout = %s, want 5s", got)
	}
	if serverPID(p) != pid {
		t.Fatal("a reloadable change restarted the server")
	}

	c.Config["max_connections"] = float64(150)
	ensure()
	if got := show("max_connections"); got != "150" {
		t.Fatalf("max_connections = %s after restart, want 150", got)
	}
	if serverPID(p) == pid {
		t.Fatal("max_connections changed without a restart")
	}
	pid = serverPID(p)

	// A value PostgreSQL rejects is reported and rolled back.
	good, _ := os.ReadFile(confPath)
	c.Config["work_mem"] = "lots"
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), `invalid value for parameter "work_mem"`) {
		t.Fatalf("Ensure with work_mem=lots = %v, want ErrInvalid naming work_mem", err)
	}
	if now, _ := os.ReadFile(confPath); string(now) != string(good) {
		t.Fatal("a rejected configuration was left in place")
	}
	if got := show("work_mem"); got != "64MB" {
		t.Fatalf("work_mem = %s after a rejected change, want 64MB", got)
	}

	// Removing keys returns to the defaults (max_connections: the flavor's).
	c.Config = map[string]any{}
	ensure()
	if got := show("work_mem"); got != "4MB" {
		t.Fatalf("work_mem = %s after removing it, want the flavor's 4MB", got)
	}
	if got := show("statement_timeout"); got != "0" {
		t.Fatalf("statement_timeout = %s after removing it, want 0", got)
	}
	if got := show("max_connections"); got != "102" {
		t.Fatalf("max_connections = %s after removing it, want the flavor's 102", got)
	}
	if serverPID(p) == pid {
		t.Fatal("max_connections went back without a restart")
	}

	c.Config = map[string]any{"data_directory": "/elsewhere"}
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure with a managed parameter = %v, want ErrInvalid", err)
	}
}

// Removing a parameter that only a restart applies (max_prepared_transactions
// is not in dbaasd.conf unless set) restarts the server with the default:
// PostgreSQL reports the removal as an error without a parameter name,
// which must not be taken for a rejected value.
func TestResetRestartOnlyParameter(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	c := newCluster(t, d, 1, func(c *engine.Cluster) { c.Config = map[string]any{"max_prepared_transactions": float64(10)} })
	ctx := enginetest.Ctx(t)
	n := &c.Nodes[0]
	show := func(name string) string {
		return queryString(t, superConn(t, n, "postgres"), "SHOW "+name)
	}
	if got := show("max_prepared_transactions"); got != "10" {
		t.Fatalf("max_prepared_transactions = %s, want 10", got)
	}
	c.Config = map[string]any{}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure after removing max_prepared_transactions: %v", err)
	}
	if got := show("max_prepared_transactions"); got != "0" {
		t.Fatalf("max_prepared_transactions = %s after removing it, want the default 0", got)
	}
}
