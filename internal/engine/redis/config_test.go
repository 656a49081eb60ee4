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
