package mysql

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/expr-lang/expr"
)

func TestFlavorSizing(t *testing.T) {
	cases := []struct {
		ram            int
		pool, log, con int64
	}{
		{0, 128 * mb, 32 * mb, 50},
		{512, 128 * mb, 32 * mb, 64},
		{1024, 128 * mb, 32 * mb, 128},
		{2048, 640 * mb, 160 * mb, 256},
		{4096, 1664 * mb, 416 * mb, 512},
		{65536, 32384 * mb, 1024 * mb, 5000},
	}
	for _, tc := range cases {
		f := engine.Flavor{RAMMB: tc.ram}
		if got := bufferPoolBytes(f); got != tc.pool {
			t.Errorf("RAM %d: buffer pool %d MB, want %d MB", tc.ram, got/mb, tc.pool/mb)
		}
		if got := logFileBytes(f); got != tc.log {
			t.Errorf("RAM %d: log file %d MB, want %d MB", tc.ram, got/mb, tc.log/mb)
		}
		if got := maxConnections(f); got != tc.con {
			t.Errorf("RAM %d: max_connections %d, want %d", tc.ram, got, tc.con)
		}
	}
}

func TestRenderConfig(t *testing.T) {
	s := serverConfig{
		owned: map[string]string{"port": "3306", "wsrep_provider_options": "a=b;c=d"},
		tuned: map[string]string{"long_query_time": "2", "max_connections": "100"},
		user:  map[string]string{"long_query_time": "0.5", "sql_mode": "STRICT_ALL_TABLES,NO_ZERO_DATE"},
	}
	got := string(s.render())
	for _, want := range []string{
		"[mysqld]\n",
		"port = 3306\n",
		`wsrep_provider_options = "a=b;c=d"` + "\n",
		"max_connections = 100\n",
		"# user configuration\nlong_query_time = 0.5\nsql_mode = STRICT_ALL_TABLES,NO_ZERO_DATE\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("my.cnf lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "long_query_time") != 1 {
		t.Errorf("the user's long_query_time does not replace the default:\n%s", got)
	}
	if m := s.merged(); m["long_query_time"] != "0.5" || m["port"] != "3306" {
		t.Errorf("merged = %v", m)
	}
}

func TestFormatParam(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	intP := engine.Parameter{Name: "max_allowed_packet", Type: "int", Min: f(1024), Max: f(1 << 30)}
	boolP := engine.Parameter{Name: "slow_query_log", Type: "bool"}
	enumP := engine.Parameter{Name: "binlog_row_image", Type: "str", Choices: []string{"MINIMAL", "FULL"}}
	strP := engine.Parameter{Name: "sql_mode", Type: "str", CanBeEmpty: true}
	good := []struct {
		p    engine.Parameter
		v    any
		want string
	}{
		{intP, float64(67108864), "67108864"},
		{intP, "4096", "4096"},
		{boolP, true, "ON"},
		{boolP, "off", "OFF"},
		{enumP, "full", "full"},
		{strP, "", ""},
		{engine.Parameter{Type: "float"}, 0.25, "0.25"},
	}
	for _, tc := range good {
		got, err := formatParam(tc.p, tc.v)
		if err != nil || got != tc.want {
			t.Errorf("formatParam(%s, %v) = %q, %v; want %q", tc.p.Name, tc.v, got, err, tc.want)
		}
	}
	bad := []struct {
		p engine.Parameter
		v any
	}{
		{intP, float64(1)}, {intP, 1.5}, {intP, "lots"}, {boolP, "maybe"}, {enumP, "NONE"},
		{strP, "a\nport = 1"}, {strP, `a"b`}, {intP, []any{}},
	}
	for _, tc := range bad {
		if got, err := formatParam(tc.p, tc.v); err == nil {
			t.Errorf("formatParam(%s, %#v) = %q, want an error", tc.p.Name, tc.v, got)
		}
	}
}

func TestConfigAndResize(t *testing.T) {
	d := newTestDriver(t, ModeNative)
	c := newTestCluster(t, d, 2, func(c *engine.Cluster) {
		c.Config = map[string]any{"max_allowed_packet": float64(32 << 20)}
	})
	ctx := enginetest.Ctx(t)
	enginetest.WaitObserved(t, d, c)
	variable := func(i int, name string) string {
		return mustQuery(t, adminDB(t, c, c.Nodes[i]), "SELECT @@GLOBAL."+name)
	}
	pids := func() [2]int {
		return [2]int{d.PIDs(c, &c.Nodes[0])[0], d.PIDs(c, &c.Nodes[1])[0]}
	}
	for i := range c.Nodes {
		if got := variable(i, "max_allowed_packet"); got != "33554432" {
			t.Errorf("node %d max_allowed_packet = %s", i, got)
		}
		if got := variable(i, "innodb_buffer_pool_size"); got != "134217728" {
			t.Errorf("node %d innodb_buffer_pool_size = %s, want 128 MB for 1 GB of RAM", i, got)
		}
	}
	b, err := os.ReadFile(c.Nodes[0].Dir + "/my.cnf")
	if err != nil || !strings.Contains(string(b), "max_allowed_packet = 33554432") {
		t.Errorf("my.cnf lacks the user's variable (err %v):\n%s", err, b)
	}
	if st, err := os.Stat(c.Nodes[0].Dir + "/my.cnf"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("my.cnf mode = %v (err %v), want 0600", st.Mode(), err)
	}

	t.Run("DynamicWithoutRestart", func(t *testing.T) {
		before := pids()
		c.Config = map[string]any{"max_allowed_packet": float64(64 << 20), "long_query_time": 0.5}
		ensure(t, d, c)
		for i := range c.Nodes {
			if got := variable(i, "max_allowed_packet"); got != "67108864" {
				t.Errorf("node %d max_allowed_packet = %s", i, got)
			}
			if got := variable(i, "long_query_time"); got != "0.5" && got != "0.500000" {
				t.Errorf("node %d long_query_time = %s", i, got)
			}
		}
		if after := pids(); after != before {
			t.Errorf("servers restarted for dynamic variables: %v → %v", before, after)
		}
	})

	t.Run("ReadOnlyRestarts", func(t *testing.T) {
		before := pids()
		c.Config["innodb_log_buffer_size"] = float64(8 << 20)
		ensure(t, d, c)
		for i := range c.Nodes {
			if got := variable(i, "innodb_log_buffer_size"); got != "8388608" {
				t.Errorf("node %d innodb_log_buffer_size = %s", i, got)
			}
			if got := variable(i, "max_allowed_packet"); got != "67108864" {
				t.Errorf("node %d lost max_allowed_packet: %s", i, got)
			}
		}
		if after := pids(); after[0] == before[0] || after[1] == before[1] {
			t.Errorf("servers not restarted for a read-only variable: %v → %v", before, after)
		}
		enginetest.WaitObserved(t, d, c)
	})

	t.Run("RemovedVariableReturnsToDefault", func(t *testing.T) {
		delete(c.Config, "max_allowed_packet")
		ensure(t, d, c)
		if got := variable(1, "max_allowed_packet"); got != "16777216" {
			t.Errorf("max_allowed_packet = %s after removal, want the default 16777216", got)
		}
	})

	t.Run("Resize", func(t *testing.T) {
		before := pids()
		c.Flavor.RAMMB = 2048
		ensure(t, d, c)
		for i := range c.Nodes {
			if got := variable(i, "innodb_buffer_pool_size"); got != "671088640" {
				t.Errorf("node %d innodb_buffer_pool_size = %s after resize, want 640 MB", i, got)
			}
			if got := variable(i, "max_connections"); got != "256" {
				t.Errorf("node %d max_connections = %s after resize", i, got)
			}
		}
		if after := pids(); after != before {
			t.Errorf("resize restarted servers: %v → %v", before, after)
		}
	})

	t.Run("InvalidConfig", func(t *testing.T) {
		for _, cfg := range []map[string]any{
			{"port": float64(1)},
			{"wsrep_on": false},
			{"no_such_variable": "x"},
			{"max_allowed_packet": "huge"},
			{"datadir": "/tmp"},
		} {
			c2 := *c
			c2.Config = cfg
			if err := d.Ensure(ctx, &c2); !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("Ensure with %v: err = %v, want ErrInvalid", cfg, err)
			}
		}
	})
}

func TestFloatingIP(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	c := newTestCluster(t, d, 1, func(c *engine.Cluster) { c.Nodes[0].FloatingIP = "127.0.0.2" })
	if err := d.EnsureUser(enginetest.Ctx(t), c, engine.User{Name: "fip", Password: "Fip-pw-1"}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		n := c.Nodes[0]
		n.Host = host
		if err := tcpDB(t, "tcp", n, "fip", "Fip-pw-1", "").Ping(); err != nil {
			t.Errorf("connect to %s: %v", host, err)
		}
	}
	n := c.Nodes[0]
	n.Host = "127.0.0.3"
	if err := tcpDB(t, "tcp", n, "fip", "Fip-pw-1", "").Ping(); err == nil {
		t.Error("the server also listens on 127.0.0.3")
	}
}

// The catalog's templates must evaluate with expr-lang/expr to exactly
// what config.go's formulas give the servers, and their maximum must not
// fall below that default.
func TestTemplatesMatchTuning(t *testing.T) {
	t.Parallel()
	for _, f := range []engine.Flavor{{VCPUs: 1, RAMMB: 512}, {VCPUs: 1, RAMMB: 1024}, {VCPUs: 2, RAMMB: 2048},
		{VCPUs: 2, RAMMB: 3001}, {VCPUs: 4, RAMMB: 4096}, {VCPUs: 8, RAMMB: 16384}, {VCPUs: 16, RAMMB: 65536},
		{VCPUs: 64, RAMMB: 524288}} {
		env := map[string]any{"ram": f.RAMMB, "vcpus": f.VCPUs, "disk": 10}
		want := map[string]int64{"innodb_buffer_pool_size": bufferPoolBytes(f), "max_connections": maxConnections(f)}
		if len(paramTemplates) != len(want) {
			t.Fatalf("templates for %d parameters, the test knows %d", len(paramTemplates), len(want))
		}
		for name, tmpl := range paramTemplates {
			w, ok := want[name]
			if !ok {
				t.Fatalf("template of %s: no formula in config.go to compare with", name)
			}
			def, maxV := evalFloat(t, tmpl.def, env), evalFloat(t, tmpl.max, env)
			if int64(def) != w || def != float64(int64(def)) {
				t.Errorf("flavor %+v: %s default template = %v, servers get %d", f, name, def, w)
			}
			if maxV < float64(w) {
				t.Errorf("flavor %+v: %s max %v below the default %d", f, name, maxV, w)
			}
		}
	}
}

func evalFloat(t *testing.T, src string, env map[string]any) float64 {
	t.Helper()
	out, err := expr.Eval(src, env)
	if err != nil {
		t.Fatalf("template %q: %v", src, err)
	}
	switch x := out.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	t.Fatalf("template %q gave %T", src, out)
	return 0
}
