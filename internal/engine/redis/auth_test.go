package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestAuthIsRequired(t *testing.T) {
	t.Parallel()
	_, c := setup(t, 1, nil)
	n := &c.Nodes[0]
	ctx := context.Background()

	err := dial(t, n, "", "").Set(ctx, "k", "v", 0).Err()
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("without a password: err = %v, want NOAUTH", err)
	}
	err = dial(t, n, "wrong-password", "").Ping(ctx).Err()
	if err == nil || !isAuthErr(err) {
		t.Fatalf("with a wrong password: err = %v, want an authentication error", err)
	}
	if err := dial(t, n, c.Password, "").Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("with the password: %v", err)
	}
}

func TestEnsureRejectsBadInput(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t)
	for name, edit := range map[string]func(c *engine.Cluster){
		"no password":       func(c *engine.Cluster) { c.Password = "" },
		"password blank":    func(c *engine.Cluster) { c.Password = "a b" },
		"firewall garbage":  func(c *engine.Cluster) { c.Password = "ok-pass"; c.Firewall = []string{"not-an-ip"} },
		"reserved param":    func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"port": 1.0} },
		"not a param name":  func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"Bad Name": 1.0} },
		"value of bad type": func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"hz": []any{1}} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := enginetest.NewCluster(t, engine.Redis, 1)
			edit(c)
			t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
			if err := d.Ensure(enginetest.Ctx(t), c); !errors.Is(err, engine.ErrInvalid) {
				t.Fatalf("Ensure = %v, want ErrInvalid", err)
			}
		})
	}
}

// tenantRefused are commands the tenant's user must not run: each would
// change what dbaasd manages (configuration, replication, users,
// persistence, processes), watch dbaasd's traffic, cut its connections,
// make the server connect elsewhere, or let a fake replica count in WAIT.
var tenantRefused = [][]string{
	{"CONFIG", "SET", "maxmemory", "1"},
	{"CONFIG", "SET", "requirepass", "tenant-took-over"},
	{"CONFIG", "SET", "masterauth", "x"},
	{"CONFIG", "GET", "masterauth"},
	{"CONFIG", "REWRITE"},
	{"CONFIG", "RESETSTAT"},
	{"REPLICAOF", "127.0.0.1", "1"},
	{"REPLICAOF", "NO", "ONE"},
	{"SLAVEOF", "NO", "ONE"},
	{"FAILOVER"},
	{"SHUTDOWN", "NOSAVE"},
	{"DEBUG", "SLEEP", "0"},
	{"MODULE", "LIST"},
	{"MODULE", "LOAD", "/tmp/evil.so"},
	{"ACL", "SETUSER", "default", "nopass"},
	{"ACL", "SETUSER", "evil", "on", ">evil", "+@all", "~*"},
	{"ACL", "DELUSER", "dbaasd"},
	{"ACL", "GETUSER", "dbaasd"},
	{"ACL", "LIST"},
	{"ACL", "LOAD"},
	{"ACL", "SAVE"},
	{"ACL", "LOG"},
	{"SAVE"},
	{"BGSAVE"},
	{"BGREWRITEAOF"},
	{"MONITOR"},
	{"SYNC"},
	{"PSYNC", "?", "-1"},
	{"REPLCONF", "listening-port", "1"},
	{"CLIENT", "KILL", "USER", "dbaasd"},
	{"CLIENT", "KILL", "TYPE", "master"},
	{"CLIENT", "PAUSE", "10000"},
	{"CLIENT", "UNBLOCK", "1"},
	{"CLIENT", "NO-EVICT", "on"},
	{"MIGRATE", "127.0.0.1", "1", "k", "0", "1000"},
	{"PUBLISH", "__sentinel__:hello", "127.0.0.1,1,0000000000000000000000000000000000000000,99,dbaasd,127.0.0.1,1,99"},
	{"EVAL", "return redis.call('CONFIG','SET','maxmemory','1')", "0"},
	{"EVAL", "return redis.call('MIGRATE','127.0.0.1','1','k','0','1000')", "0"},
	{"EVAL", "return redis.call('PUBLISH','__sentinel__:hello','x')", "0"},
}

// sentinelRefused are commands the tenant must not run on a sentinel.
var sentinelRefused = [][]string{
	{"SENTINEL", "SET", MasterName, "quorum", "1"},
	{"SENTINEL", "REMOVE", MasterName},
	{"SENTINEL", "MONITOR", "evil", "127.0.0.1", "1", "1"},
	{"SENTINEL", "FAILOVER", MasterName},
	{"SENTINEL", "RESET", "*"},
	{"SENTINEL", "FLUSHCONFIG"},
	{"SENTINEL", "CONFIG", "SET", "announce-ip", "10.0.0.1"},
	{"SENTINEL", "CONFIG", "GET", "*"},
	{"SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "99", "*"},
	{"SENTINEL", "SIMULATE-FAILURE", "crash-after-election"},
	{"SENTINEL", "DEBUG"},
	{"ACL", "SETUSER", "default", "nopass"},
	{"PUBLISH", "__sentinel__:hello", "x"},
	{"CLIENT", "KILL", "USER", "dbaasd"},
	{"SHUTDOWN"},
}

// refusedText reports whether a reply is an ACL refusal (NOPERM, or the
// error a script gets when it calls a command its user may not run).
func refusedText(s string) bool {
	for _, refusal := range []string{
		"NOPERM", "The user executing the script can't",
		"command not allowed. If the enable-", // DEBUG and MODULE are also off for everyone
		"This Redis command is not allowed from script",
	} {
		if strings.Contains(s, refusal) {
			return true
		}
	}
	return false
}

// refusedBy runs cmd with redis-cli, as a tenant would from a shell, and
// with go-redis, and returns what each answered.
func refusedBy(t *testing.T, host string, port int, password string, cmd []string) (cli, lib string) {
	t.Helper()
	args := append([]string{"-h", host, "-p", strconv.Itoa(port), "--user", "default", "--pass", password, "--no-auth-warning"}, cmd...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	cl := newClient(endpoint{network: "tcp", addr: net.JoinHostPort(host, strconv.Itoa(port)), timeout: 3 * time.Second}, password)
	defer func() { _ = cl.Close() }()
	a := make([]any, len(cmd))
	for i, s := range cmd {
		a[i] = s
	}
	err := cl.Do(ctx, a...).Err()
	return strings.TrimSpace(string(out)), fmt.Sprint(err)
}

// The tenant's user, attacking as a tenant would (its password, redis-cli
// and go-redis): every command that would change what dbaasd manages is
// refused on the servers and the sentinels, and afterwards dbaasd, the
// replicas and the sentinels still work and the tenant still uses its data.
func TestTenantCannotChangeWhatDbaasdManages(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed")
	}
	d, c := setup(t, 2, nil)
	master, replica := &c.Nodes[0], &c.Nodes[1]
	ctx := context.Background()
	if err := dial(t, master, c.Password, "").Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range tenantRefused {
		for _, n := range []*engine.Node{master, replica} {
			cli, lib := refusedBy(t, n.Host, n.Port, c.Password, cmd)
			if !refusedText(cli) || !refusedText(lib) {
				t.Errorf("node %d: %v as the tenant: redis-cli %q, go-redis %q; want both refused (NOPERM)", n.Index, cmd, cli, lib)
			}
		}
	}
	for _, cmd := range sentinelRefused {
		cli, lib := refusedBy(t, replica.Host, replica.Ports[sentinelPortName], c.Password, cmd)
		if !refusedText(cli) || !refusedText(lib) {
			t.Errorf("sentinel: %v as the tenant: redis-cli %q, go-redis %q; want both refused (NOPERM)", cmd, cli, lib)
		}
	}
	// The internal user's secret is not the tenant's password.
	if err := newClient(endpoint{network: "tcp", addr: addr(master.Host, master.Port), timeout: time.Second}, c.Password).
		Do(ctx, "AUTH", internalUser, c.Password).Err(); !isAuthErr(err) {
		t.Errorf("AUTH dbaasd <tenant password> = %v, want refused", err)
	}

	// What a tenant needs still works.
	sc := newClient(endpoint{network: "tcp", addr: addr(replica.Host, replica.Ports[sentinelPortName]), timeout: time.Second}, c.Password)
	defer func() { _ = sc.Close() }()
	if a, err := sc.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice(); err != nil || len(a) != 2 {
		t.Errorf("sentinel GET-MASTER-ADDR-BY-NAME as the tenant: %v, %v", a, err)
	}
	if err := newClient(endpoint{network: "tcp", addr: addr(replica.Host, replica.Ports[sentinelPortName]), timeout: time.Second}, "").
		Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("sentinel without a password: %v, want NOAUTH", err)
	}
	tc := dial(t, master, c.Password, "")
	sub := tc.PSubscribe(ctx, "__keyspace@0__:*")
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		t.Errorf("PSUBSCRIBE as the tenant: %v", err)
	}
	for _, cmd := range [][]any{{"SET", "k2", "v"}, {"PUBLISH", "news", "x"}, {"INFO", "replication"}, {"CLIENT", "LIST"},
		{"SLOWLOG", "GET"}, {"FLUSHDB"}, {"EVAL", "return redis.call('SET','k3','v')", "0"}, {"WAIT", "1", "1000"}} {
		if err := tc.Do(ctx, cmd...).Err(); err != nil {
			t.Errorf("%v as the tenant: %v", cmd, err)
		}
	}
	// dbaasd, the replica and the sentinels are unaffected.
	enginetest.WaitObserved(t, d, c)
	if err := tc.Set(ctx, "after", "attack", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "replica still replicates", func() error {
		v, err := dial(t, replica, c.Password, "").Get(ctx, "after").Result()
		if v != "attack" {
			return fmt.Errorf("GET = %q, %v", v, err)
		}
		return nil
	})
	obs, err := d.Observe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range obs.Processes {
		if !ps.Up {
			t.Errorf("%s of %s down: %s", ps.Name, ps.NodeID, ps.Detail)
		}
	}
	if got := configGet(t, c, master, "maxmemory"); got != strconv.FormatInt(defaultMaxMemory(c.Flavor), 10) {
		t.Errorf("maxmemory = %s: the tenant changed it", got)
	}
}
