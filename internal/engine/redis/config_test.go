package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestQuoteRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "with space", `q"uote`, `back\slash`, "new\nline", "tab\there", "\x01\xff", "it's"} {
		got := splitArgs("key " + quote(s))
		if len(got) != 2 || got[1] != s {
			t.Errorf("quote(%q) reads back as %q", s, got)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	for line, want := range map[string][]string{
		`sentinel monitor dbaasd 127.0.0.1 6379 2`: {"sentinel", "monitor", "dbaasd", "127.0.0.1", "6379", "2"},
		`# comment`:                nil,
		`save ""`:                  {"save", ""},
		`user default on 'a b' ~*`: {"user", "default", "on", "a b", "~*"},
		`requirepass "p\x41ss"`:    {"requirepass", "pAss"},
		"   ":                      nil,
	} {
		if got := splitArgs(line); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitArgs(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{{true, "yes"}, {false, "no"}, {100.0, "100"}, {-1.0, "-1"}, {0.5, "0.5"}, {"allkeys-lru", "allkeys-lru"}} {
		if got, err := formatValue(tc.in); err != nil || got != tc.want {
			t.Errorf("formatValue(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := formatValue(map[string]any{}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("formatValue(map) = %v, want ErrInvalid", err)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for pw, ok := range map[string]bool{
		"": false, "a b": false, `a"b`: false, "a'b": false, "é": false, "tab\t": false,
		"Good-Pass_123!@#$%^&*()": true, `back\slash`: true,
	} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestParamNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"maxmemory-policy": true, "hz": true, "port": false, "tls-port": false, "cluster-enabled": false,
		"requirepass": false, "Bad": false, "rename-command": false, "unixsocketperm": false,
		"dir": false, "dbfilename": false, "logfile": false, "loadmodule": false, "aclfile": false,
		"appenddirname": false, "include": false, "enable-debug-command": false,
	} {
		if err := checkParamName(name); (err == nil) != ok {
			t.Errorf("checkParamName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestServerConf(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{ID: "c1", Password: "secret", AdminPassword: "admin", Flavor: engine.Flavor{RAMMB: 1024},
		Config: map[string]any{"maxmemory-policy": "allkeys-lru", "appendonly": true}}
	master := engine.Node{ID: "m", Host: "127.0.0.1", Port: 7000, Dir: "/d/m"}
	replica := engine.Node{ID: "r", Host: "127.0.0.1", Port: 7001, Dir: "/d/r", FloatingIP: "10.1.1.1"}
	c.Nodes = []engine.Node{master, replica}
	sc, err := buildServerConf(c, &replica, &master)
	if err != nil {
		t.Fatal(err)
	}
	text := string(sc.render())
	for _, want := range []string{
		`bind "127.0.0.1 -10.1.1.1"`, `port "7001"`, `masteruser "dbaasd"`, `masterauth "` + internalSecret(c) + `"`,
		`user default "on" "` + passwordHash("secret") + `" "~*"`, `user dbaasd "on" "` + passwordHash(internalSecret(c)) + `"`,
		`maxmemory "805306368"`, `maxmemory-policy "allkeys-lru"`, `appendonly "yes"`,
		"replicaof 127.0.0.1 7000\n", `dir "/d/r/data"`, `logfile "/d/r/log/redis.log"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret\"") || strings.Contains(text, "requirepass") {
		t.Errorf("the tenant's password is in the config file:\n%s", text)
	}
	if strings.Count(text, "maxmemory-policy") != 1 {
		t.Errorf("user parameter duplicated:\n%s", text)
	}
	c.Firewall = []string{"10.0.0.0/8"}
	sc, _ = buildServerConf(c, &master, nil)
	if v, _ := sc.get("port"); v != "0" {
		t.Errorf("firewalled server listens on port %s, want only its socket", v)
	}
	if _, ok := sc.get("replicaof"); ok {
		t.Error("master has replicaof")
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	info, err := parseVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n")
	if err != nil || info.Version != "7.0" || info.Full != "7.0.15" || info.Engine != engine.Redis {
		t.Fatalf("parseVersion = %+v, %v", info, err)
	}
}

func TestEffectiveMaster(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{Nodes: []engine.Node{
		{ID: "a", Role: engine.RoleMaster, Host: "127.0.0.1", Port: 1},
		{ID: "b", Role: engine.RoleReplica, Host: "127.0.0.1", Port: 2},
		{ID: "c", Role: engine.RoleReplica, Host: "127.0.0.1", Port: 3},
	}}
	m, s := replInfo{role: "master"}, replInfo{role: "slave"}
	for name, tc := range map[string]struct {
		infos map[string]replInfo
		votes map[string]int
		want  string
	}{
		"new cluster":               {nil, nil, "a"},
		"sentinels promoted b":      {map[string]replInfo{"a": s, "b": m, "c": s}, map[string]int{"127.0.0.1:2": 3}, "b"},
		"old master back as master": {map[string]replInfo{"a": m, "b": m, "c": s}, map[string]int{"127.0.0.1:2": 2}, "b"},
		"stopped cluster":           {nil, map[string]int{"127.0.0.1:3": 2}, "c"},
		"a minority of sentinels":   {nil, map[string]int{"127.0.0.1:3": 1}, "a"},
		"vote for a removed node":   {map[string]replInfo{"b": s, "c": s}, map[string]int{"127.0.0.1:9": 3}, "a"},
		"only b acts as master":     {map[string]replInfo{"a": s, "b": m}, nil, "b"},
	} {
		if got := effectiveMaster(c, tc.infos, tc.votes); got.ID != tc.want {
			t.Errorf("%s: master %s, want %s", name, got.ID, tc.want)
		}
	}
}

func TestConfigIsAppliedLive(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 1, func(c *engine.Cluster) {
		c.Config = map[string]any{"maxmemory-policy": "allkeys-lru", "appendonly": true}
	})
	n := &c.Nodes[0]
	if got := configGet(t, c, n, "maxmemory-policy"); got != "allkeys-lru" {
		t.Errorf("maxmemory-policy = %q", got)
	}
	if got := configGet(t, c, n, "appendonly"); got != "yes" {
		t.Errorf("appendonly = %q", got)
	}
	pid := serverPid(n)
	c.Config = map[string]any{"maxmemory-policy": "volatile-ttl", "hz": 20.0, "notify-keyspace-events": "KEA"}
	ensure(t, d, c)
	if got := configGet(t, c, n, "maxmemory-policy"); got != "volatile-ttl" {
		t.Errorf("maxmemory-policy = %q after a change", got)
	}
	if got := configGet(t, c, n, "hz"); got != "20" {
		t.Errorf("hz = %q", got)
	}
	if got := configGet(t, c, n, "appendonly"); got != "no" {
		t.Errorf("appendonly = %q after the parameter was removed, want the default", got)
	}
	if serverPid(n) != pid {
		t.Error("the server restarted for parameters that can change live")
	}
	if v := confValue(acct(t, d, c), nodePaths(n).conf, "maxmemory-policy"); v != "volatile-ttl" {
		t.Errorf("config file has maxmemory-policy %q", v)
	}
}

func TestRestartOnlyParameter(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	pids := []int{serverPid(&c.Nodes[0]), serverPid(&c.Nodes[1])}
	c.Config = map[string]any{"databases": 32.0}
	ensure(t, d, c)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if got := configGet(t, c, n, "databases"); got != "32" {
			t.Fatalf("node %d: databases = %q, want 32", i, got)
		}
		if serverPid(n) == pids[i] {
			t.Errorf("node %d: databases changed without a restart?", i)
		}
		pids[i] = serverPid(n)
	}
	enginetest.WaitObserved(t, d, c)
	// Nothing left to do: no second restart.
	ensure(t, d, c)
	for i := range c.Nodes {
		if serverPid(&c.Nodes[i]) != pids[i] {
			t.Errorf("node %d: Ensure restarted the server again", i)
		}
		if st := stateOf(t, d, c, &c.Nodes[i]); st.RestartPending {
			t.Errorf("node %d: restart still pending", i)
		}
	}
	// The database is usable.
	cl := dial(t, &c.Nodes[0], c.Password, "")
	if err := cl.Do(context.Background(), "SELECT", "31").Err(); err != nil {
		t.Errorf("SELECT 31: %v", err)
	}
}

func TestInvalidValueIsRefusedWithoutBreakingTheNode(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 1, nil)
	n := &c.Nodes[0]
	before, _ := readFile(nodePaths(n).conf)
	c.Config = map[string]any{"maxmemory-policy": "sometimes"}
	err := d.Ensure(enginetest.Ctx(t), c)
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Ensure = %v, want ErrInvalid", err)
	}
	after, _ := readFile(nodePaths(n).conf)
	if before != after {
		t.Error("config file rewritten with a value Redis refused")
	}
	if err := dial(t, n, c.Password, "").Ping(context.Background()).Err(); err != nil {
		t.Errorf("node no longer answers: %v", err)
	}
}

// TestInvalidValueRefusedAtStart: a value Redis refuses in the
// configuration file of a server that does not run yet is a client error
// carrying Redis's message, and no server is left running.
func TestInvalidValueRefusedAtStart(t *testing.T) {
	t.Parallel()
	enginetest.NeedsEngine(t, "Redis servers")
	d := newTestDriver(t)
	c := enginetest.NewCluster(t, engine.Redis, 1)
	c.Password = "pw-" + c.ID[:8]
	c.Config = map[string]any{"maxmemory-policy": "sometimes"}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
	enginetest.GivePorts(t, d, c)
	err := d.Ensure(enginetest.Ctx(t), c)
	if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "maxmemory-policy") {
		t.Fatalf("Ensure = %v, want ErrInvalid naming maxmemory-policy", err)
	}
	if pid := serverPid(&c.Nodes[0]); pid != 0 {
		t.Errorf("a server runs (pid %d) after it refused its configuration", pid)
	}
}

func TestResizeChangesMaxMemoryLive(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	want := func(mb int) string { return strconv.FormatInt(int64(mb)*1024*1024*MaxMemoryPercent/100, 10) }
	for _, n := range c.Nodes {
		if got := configGet(t, c, &n, "maxmemory"); got != want(c.Flavor.RAMMB) {
			t.Fatalf("maxmemory = %s, want %s", got, want(c.Flavor.RAMMB))
		}
	}
	pids := []int{serverPid(&c.Nodes[0]), serverPid(&c.Nodes[1])}
	c.Flavor.RAMMB = 2048
	ensure(t, d, c)
	for i, n := range c.Nodes {
		if got := configGet(t, c, &n, "maxmemory"); got != want(2048) {
			t.Errorf("node %d: maxmemory = %s after resize, want %s", i, got, want(2048))
		}
		if serverPid(&n) != pids[i] {
			t.Errorf("node %d restarted for a resize", i)
		}
	}
	// A user's maxmemory wins, within the flavor.
	c.Config = map[string]any{"maxmemory": float64(100 << 20)}
	ensure(t, d, c)
	if got := configGet(t, c, &c.Nodes[0], "maxmemory"); got != strconv.Itoa(100<<20) {
		t.Errorf("maxmemory = %s, want the user's %d", got, 100<<20)
	}
	c.Config = map[string]any{"maxmemory": float64(4096 << 20)}
	ensure(t, d, c)
	if got := configGet(t, c, &c.Nodes[0], "maxmemory"); got != strconv.Itoa(2048<<20) {
		t.Errorf("maxmemory = %s, want it capped at the flavor's RAM", got)
	}
}

// Removing a parameter resets it in the running server to Redis's default,
// not only in redis.conf.
func TestRemovedParameterIsResetLive(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 1, func(c *engine.Cluster) {
		c.Config = map[string]any{"timeout": 300.0, "slowlog-max-len": 500.0, "notify-keyspace-events": "KEA"}
	})
	n := &c.Nodes[0]
	if got := configGet(t, c, n, "timeout"); got != "300" {
		t.Fatalf("timeout = %q, want 300", got)
	}
	pid := serverPid(n)
	c.Config = map[string]any{"slowlog-max-len": 500.0}
	ensure(t, d, c)
	for name, want := range map[string]string{"timeout": "0", "notify-keyspace-events": "", "slowlog-max-len": "500"} {
		if got := configGet(t, c, n, name); got != want {
			t.Errorf("%s = %q after the change, want %q", name, got, want)
		}
	}
	if serverPid(n) != pid {
		t.Error("the server restarted to reset parameters that change live")
	}
}

// TestValidateConfig sends values through a scratch redis-server: values
// Redis refuses in its configuration file or with CONFIG SET come back as
// an InvalidError naming the parameter, in Redis's words.
func TestValidateConfig(t *testing.T) {
	t.Parallel()
	enginetest.NeedsEngine(t, "a scratch redis-server")
	d := newTestDriver(t)
	ctx := enginetest.Ctx(t)
	for _, tc := range []struct {
		name  string
		value any
		want  string // "" = valid; else a part of the message
	}{
		{"save", "900 1 300 10", ""},
		{"save", "", ""},
		{"save", "900", "Invalid save parameters"},
		{"save", "abc def", "Invalid save parameters"},
		{"client-output-buffer-limit", "normal 0 0 0", ""},
		{"client-output-buffer-limit", "pubsub 32mb 8mb 60", ""},
		{"client-output-buffer-limit", "nosuchclass 0 0 0", "Invalid client class"},
		{"client-output-buffer-limit", "normal 1 2", "Wrong number of arguments"},
		{"maxmemory-clients", "10%", ""},
		{"maxmemory-clients", float64(1 << 20), ""},
		{"maxmemory-clients", "lots", "argument must be a memory or percent value"},
		{"notify-keyspace-events", "KEA", ""},
		{"notify-keyspace-events", "Ex", ""},
		{"notify-keyspace-events", "xyz!", "Invalid event class character"},
		{"hz", float64(20), ""},
		{"maxmemory-policy", "sometimes", "argument(s) must be one of the following"},
		{"dir", "/tmp", "not one a tenant may change"},
	} {
		c := &engine.Cluster{Engine: engine.Redis, Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 10},
			Config: map[string]any{tc.name: tc.value}}
		err := d.ValidateConfig(ctx, c, []string{tc.name})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s = %q refused: %v", tc.name, tc.value, err)
			}
			continue
		}
		ie, ok := engine.AsInvalid(err)
		if !ok || ie.Field != tc.name || !strings.Contains(ie.Message, tc.want) {
			t.Errorf("%s = %q: got %v; want an InvalidError on %s containing %q", tc.name, tc.value, err, tc.name, tc.want)
		}
	}
}
