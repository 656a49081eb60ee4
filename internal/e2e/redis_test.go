package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// redisWAITWriter returns the writer's connect function for Redis: every
// write is a SET followed by WAIT 1, and counts as acknowledged only when a
// replica confirmed it. It writes only to a node that says it is the master.
func redisWAITWriter(password string) func(addr string) (func(int) error, func(), error) {
	return func(addr string) (func(int) error, func(), error) {
		c := goredis.NewClient(&goredis.Options{Addr: addr, Password: password, MaxRetries: -1,
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if role, err := c.Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
			_ = c.Close()
			return nil, nil, fmt.Errorf("not a master (%v)", err)
		}
		return func(n int) error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := c.Set(ctx, fmt.Sprintf("k%d", n), n, 0).Err(); err != nil {
				return err
			}
			acks, err := c.Do(ctx, "WAIT", 1, 1000).Int()
			if err != nil {
				return err
			}
			if acks < 1 {
				return fmt.Errorf("write %d not acknowledged by a replica", n)
			}
			return nil
		}, func() { _ = c.Close() }, nil
	}
}

// lostRedisWrites counts the acknowledged writes the master at addr does
// not hold.
func lostRedisWrites(t *testing.T, addr, password string, acked []int) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, Password: password})
	defer func() { _ = c.Close() }()
	lost := 0
	for _, n := range acked {
		if v, err := c.Get(context.Background(), fmt.Sprintf("k%d", n)).Int(); err != nil || v != n {
			lost++
		}
	}
	return lost
}

// TestRedisNoConfirmedWriteLost is the fault of issue 13: in a two-node
// Redis datastore, the Sentinel of the replica's node is killed (-9), then
// the primary's server (-9), while a client writes with WAIT 1. Every
// write a replica confirmed must survive: the replica holding them becomes
// the primary (the old primary, which comes back with an older or empty
// data set, must not be restarted over it), the dead Sentinel is restarted,
// and the datastore returns to ACTIVE with both Sentinels running.
func TestRedisNoConfirmedWriteLost(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true, ProbeInterval: 250 * time.Millisecond})
	ds := e.CreateDatastore(at.TokenA, "redis", "wait-redis", 2)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	var primary, replica string
	for _, in := range r.Get("datastore.instances").([]any) {
		m := in.(map[string]any)
		if m["role"] == "MASTER" {
			primary = m["id"].(string)
		} else {
			replica = m["id"].(string)
		}
	}
	if primary == "" || replica == "" {
		t.Fatalf("want a primary and a replica: %s", r.Body)
	}
	w := &writer{t: t, e: e, ds: ds, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(redisWAITWriter("Redis-Secret-1"))
	time.Sleep(time.Second)
	if err := syscall.Kill(redisProcPID(t, ds, replica, "sentinel"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	w.killPrimary(redisProcPID(t, ds, primary, "redis"), wait)

	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if len(w.acked) == 0 {
		t.Fatal("no write was acknowledged")
	}
	if lost := lostRedisWrites(t, r.Str("datastore.connection.master"), "Redis-Secret-1", w.acked); lost > 0 {
		t.Errorf("%d of %d writes confirmed with WAIT were lost", lost, len(w.acked))
	}
	for _, in := range []string{primary, replica} {
		redisProcPID(t, ds, in, "sentinel") // fails the test when one is not running
	}
	acts := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds, nil)
	t.Logf("actions: %s", acts.Body)
}

// sentinelPorts reads the sentinel port the Redis driver recorded for each
// instance of a datastore.
func sentinelPorts(t *testing.T, e *at.Env, ds string, insts []string) map[string]int {
	t.Helper()
	ports := map[string]int{}
	for _, in := range insts {
		b, err := os.ReadFile(filepath.Join(e.DataDir, "clusters", ds, "nodes", in[:8], "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			SentinelPort int `json:"sentinel_port"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		ports[in] = st.SentinelPort
	}
	return ports
}

// TestRedisSentinelPortsFromRange: the sentinels listen on ports dbaasd
// allocated from --port-range, distinct from every server's, recorded, and
// the same after dbaasd restarts.
func TestRedisSentinelPortsFromRange(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "redis", "ports-redis", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	used := map[int]string{}
	var insts []string
	for _, in := range r.Get("datastore.instances").([]any) {
		id := in.(map[string]any)["id"].(string)
		insts = append(insts, id)
		conf, err := os.ReadFile(filepath.Join(e.DataDir, "clusters", ds, "nodes", id[:8], "redis.conf"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(conf), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "replica-announce-port" {
				used[atoi(t, strings.Trim(f[1], `"`))] = "server of " + id
			}
		}
	}
	if len(used) != len(insts) {
		t.Fatalf("server ports: %v", used)
	}
	ports := sentinelPorts(t, e, ds, insts)
	for in, p := range ports {
		if p < e.PortMin || p > e.PortMax {
			t.Errorf("sentinel of %s listens on %d, outside --port-range %d-%d", in, p, e.PortMin, e.PortMax)
		}
		if other, ok := used[p]; ok {
			t.Errorf("sentinel of %s has port %d of the %s", in, p, other)
		}
		used[p] = "sentinel of " + in
		c := goredis.NewClient(&goredis.Options{Addr: net.JoinHostPort("127.0.0.1", fmt.Sprint(p)), Password: "Redis-Secret-1"})
		if a, err := c.Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "dbaasd").StringSlice(); err != nil || len(a) != 2 {
			t.Errorf("sentinel of %s at %d: %v, %v", in, p, a, err)
		}
		_ = c.Close()
	}
	// Restarted, dbaasd repairs every datastore: the ports stay.
	e.Stop()
	e2 := at.Start(t, at.Options{Reconcile: true, DataDir: e.DataDir})
	acts := func() int {
		return len(e2.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds+"&request_id=dbaasd-startup&status=SUCCESS", nil).Get("actions").([]any))
	}
	deadline := time.Now().Add(wait)
	for acts() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	e2.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if again := sentinelPorts(t, e2, ds, insts); fmt.Sprint(again) != fmt.Sprint(ports) {
		t.Errorf("sentinel ports changed across a restart: %v, then %v", ports, again)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// redisFrom connects to addr from a given source address.
func redisFrom(addr, from string) *goredis.Client {
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return goredis.NewClient(&goredis.Options{Addr: addr, Password: "Redis-Secret-1", MaxRetries: -1,
		Dialer: func(ctx context.Context, network, a string) (net.Conn, error) { return d.DialContext(ctx, network, a) }})
}

// TestRedisFirewallThroughTheAPI is issue 17's defects 3 and 4 as a client
// meets them: firewall changes, one after the other, each end ACTIVE
// (never ERROR); a list without the engine host's address refuses local
// clients from it, while a listed address gets in and writes are still
// confirmed by the replica (replication passes by its own path).
func TestRedisFirewallThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "redis", "fw-redis", 2)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master := r.Str("datastore.connection.master")
	ctx := context.Background()
	for i, ips := range [][]string{{"127.0.0.2"}, {"127.0.0.2", "10.0.0.1"}, {"127.0.0.1"}, {}, {"127.0.0.2"}} {
		at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": ips}})
		e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait) // fails at once on ERROR
		t.Logf("change %d (%v): ACTIVE", i, ips)
	}
	host, _, _ := net.SplitHostPort(master)
	local := redisFrom(master, host)
	defer func() { _ = local.Close() }()
	if err := local.Ping(ctx).Err(); err == nil {
		t.Errorf("a local client from %s (the engine host, not listed) got in", host)
	}
	listed := redisFrom(master, "127.0.0.2")
	defer func() { _ = listed.Close() }()
	if err := listed.Set(ctx, "through", "firewall", 0).Err(); err != nil {
		t.Fatalf("from a listed address: %v", err)
	}
	if acks, err := listed.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || acks != 1 {
		t.Errorf("WAIT 1 behind the firewall = %d, %v: the replica does not get through", acks, err)
	}
}
