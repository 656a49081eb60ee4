package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// redisServers selects a Redis datastore's pods.
const redisServers = "app.kubernetes.io/name=redis"

// redisPassword is the datastore's password the fixtures create it with.
const redisPassword = "Redis-Secret-1"

// redisClient is a client of addr with the tenant's password (user ""),
// or another user's; from, when set, is the local address it connects from.
func redisClient(addr, user, password, from string) *goredis.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return goredis.NewClient(&goredis.Options{Addr: addr, Username: user, Password: password, Protocol: 2,
		DisableIdentity: true, MaxRetries: -1, DialerRetries: 1, DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		Dialer: func(ctx context.Context, network, a string) (net.Conn, error) { return d.DialContext(ctx, network, a) }})
}

// mustRedis is a client of addr that answered PING (a Service's rules
// reach kube-proxy a moment after the API answers).
func mustRedis(t *testing.T, addr, user, password string) *goredis.Client {
	t.Helper()
	var err error
	for range 20 {
		c := redisClient(addr, user, password, "")
		if err = c.Ping(context.Background()).Err(); err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		_ = c.Close()
		time.Sleep(time.Second)
	}
	t.Fatalf("connect to %s: %v", addr, err)
	return nil
}

// internalOf is the password of a Redis datastore's internal user, read
// from its Secret with the bed's admin access (a tenant has neither).
func internalOf(t *testing.T, k kubernetes.Interface, ds string) string {
	t.Helper()
	s, err := k.CoreV1().Secrets(kube.Namespace(ds)).Get(context.Background(), "redis", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data["internal"])
}

// sentinelAddress is the address of node 0's sentinel: its Service's
// second port.
func sentinelAddress(t *testing.T, k kubernetes.Interface, ds string) string {
	t.Helper()
	svc, err := k.CoreV1().Services(kube.Namespace(ds)).Get(context.Background(), "node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == "sentinel" && len(svc.Spec.ExternalIPs) > 0 {
			return net.JoinHostPort(svc.Spec.ExternalIPs[0], strconv.Itoa(int(p.Port)))
		}
	}
	t.Fatalf("node-0 has no sentinel port: %+v", svc.Spec.Ports)
	return ""
}

// configOf reads a parameter on every server as dbaasd's internal user.
func configOf(t *testing.T, addrs []string, internal, name string) []string {
	t.Helper()
	var out []string
	for _, a := range addrs {
		v, err := mustRedis(t, a, "dbaasd", internal).ConfigGet(context.Background(), name).Result()
		if err != nil {
			t.Fatalf("CONFIG GET %s on %s: %v", name, a, err)
		}
		out = append(out, v[name])
	}
	return out
}

// TestRedisOnKubernetes creates a three-node Redis datastore through the
// API (StatefulSet pods with Sentinel and the firewall forwarder) and
// checks, through the addresses the API gives, that replication, the
// tenant's limits, configuration, password and firewall really are in the
// servers; then deletes the master's pod, resizes and deletes.
func TestRedisOnKubernetes(t *testing.T) {
	b := at.KubernetesBed(t)
	if b["DBAAS_K8S_REDIS_IMAGE"] == "" {
		t.Skip("the bed has no Redis image")
	}
	o := b.Options(t)
	o.BackupInterval = 20 * time.Second // a snapshot soon after the writes below
	e := at.Start(t, o)
	k := bedClient(t, b)
	ctx := context.Background()

	t0 := time.Now()
	ds := e.CreateDatastore(at.TokenA, "redis", "redis-k8s", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	t.Logf("redis create → ACTIVE with 3 nodes: %s", time.Since(t0).Round(time.Second))
	if n, names := readyPods(t, k, ds, redisServers); n != 3 {
		t.Fatalf("%d of 3 pods ready (%v)", n, names)
	}
	addrs := addresses(r)
	if len(addrs) != 3 || addrs[0] == "" || master(r) == "" {
		t.Fatalf("an ACTIVE datastore lacks addresses or roles: %s", r.Body)
	}

	// Writes on the master reach every replica, which refuses writes.
	m := mustRedis(t, addrs[0], "", redisPassword)
	for i := 1; i <= 100; i++ {
		if err := m.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := m.Do(ctx, "WAIT", 2, 5000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2: %d replicas acknowledged (%v)", n, err)
	}
	wrote := time.Now().UTC()
	for _, a := range addrs[1:] {
		rep := mustRedis(t, a, "", redisPassword)
		if v, err := rep.Get(ctx, "k100").Int(); err != nil || v != 100 {
			t.Errorf("replica %s: k100 = %d (%v)", a, v, err)
		}
		if err := rep.Set(ctx, "x", 1, 0).Err(); err == nil || !strings.Contains(err.Error(), "READONLY") {
			t.Errorf("replica %s took a write (%v)", a, err)
		}
	}

	// The tenant cannot change what dbaasd manages, on the servers or on
	// the sentinels.
	for _, cmd := range [][]any{{"CONFIG", "GET", "masterauth"}, {"ACL", "LIST"}, {"REPLICAOF", "NO", "ONE"}, {"SHUTDOWN"},
		{"DEBUG", "SLEEP", "0"}, {"MODULE", "LIST"}, {"PSYNC", "?", "-1"}, {"PUBLISH", "__sentinel__:hello", "fake master"}, {"MIGRATE", "10.0.0.1", "6379", "k1", "0", "1000"}} {
		if err := m.Do(ctx, cmd...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") && !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("the tenant ran %v (%v)", cmd, err)
		}
	}
	sent := mustRedis(t, sentinelAddress(t, k, ds), "", redisPassword)
	if host, err := sent.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "dbaasd").StringSlice(); err != nil || len(host) != 2 || !strings.HasPrefix(host[0], "redis-") {
		t.Errorf("the sentinel names the master %v (%v)", host, err)
	}
	for _, cmd := range [][]any{{"SENTINEL", "FAILOVER", "dbaasd"}, {"SENTINEL", "SET", "dbaasd", "quorum", "1"}, {"SENTINEL", "REMOVE", "dbaasd"}} {
		if err := sent.Do(ctx, cmd...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("the tenant ran %v on a sentinel (%v)", cmd, err)
		}
	}
	if err := redisClient(addrs[0], "dbaasd", redisPassword, "").Ping(ctx).Err(); err == nil {
		t.Error("the internal user accepts the tenant's password")
	}
	internal := internalOf(t, k, ds)

	checkRedisMetrics(t, e, ds)
	checkRedisLogs(t, e, ds)

	// Configuration: a value reaches every server (the pods are replaced
	// one at a time, the master after a switchover) and the data stays; a
	// value Redis refuses is a 400.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"maxmemory-policy": "allkeys-lru"}})
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	addrs = addresses(r)
	for i, v := range configOf(t, addrs, internal, "maxmemory-policy") {
		if v != "allkeys-lru" {
			t.Errorf("maxmemory-policy on %s = %q", addrs[i], v)
		}
	}
	m = mustRedis(t, addrs[0], "", redisPassword)
	if n, err := m.DBSize(ctx).Result(); err != nil || n != 100 {
		t.Errorf("after the new configuration the master holds %d keys (%v)", n, err)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"maxmemory-policy": "sometimes"}}); r.Status != http.StatusBadRequest {
		t.Errorf("a value Redis refuses: %d %s", r.Status, r.Body)
	}

	// Password: the new one works everywhere, the old one nowhere.
	at.MustPut(t, e, "/v1/datastores/"+ds+"/password", map[string]any{"password": map[string]any{"redis_password": "Redis-Secret-2"}})
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	addrs = addresses(r)
	for _, a := range addrs {
		mustRedis(t, a, "", "Redis-Secret-2")
		if err := redisClient(a, "", redisPassword, "").Ping(ctx).Err(); err == nil {
			t.Errorf("%s still takes the old password", a)
		}
	}

	// Firewall: an address outside it is refused by the pods' forwarder,
	// one inside it is let through.
	if out := b["DBAAS_K8S_OUTSIDER_IP"]; out != "" {
		at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"192.0.2.10"}}})
		r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
		for _, a := range addresses(r) {
			if err := redisClient(a, "", "Redis-Secret-2", out).Ping(ctx).Err(); err == nil {
				t.Errorf("%s accepted a connection from %s, outside the firewall", a, out)
			}
		}
		at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"192.0.2.10", out}}})
		r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
		for _, a := range addresses(r) {
			if err := redisClient(a, "", "Redis-Secret-2", out).Ping(ctx).Err(); err != nil {
				t.Errorf("%s refused %s, inside the firewall: %v", a, out, err)
			}
		}
	} else {
		t.Log("the bed names no outsider address: the firewall's refusal is not tried")
	}

	// Backups: dbaasd takes the master's snapshot (SYNC) every 20 s here;
	// a restore puts the newest on the new datastore's first volume
	// (through the object storage), and it has the keys.
	if b["DBAAS_K8S_S3_ENDPOINT"] != "" {
		checkRedisRestore(t, e, ds, wrote)
	} else {
		checkNoRestore(t, e, "redis", ds)
	}

	// Failover: the master's pod goes; Sentinel promotes a replica, the
	// API reports the new roles, and writes go on at the new master
	// address with every key.
	oldMaster := master(r)
	pod := masterPod(t, k, ds, r.Str("datastore.connection.master"))
	t1 := time.Now()
	now := int64(0)
	if err := k.CoreV1().Pods(kube.Namespace(ds)).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &now}); err != nil {
		t.Fatal(err)
	}
	var after *at.Response
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		after = e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
		if mm := master(after); mm != "" && mm != oldMaster {
			break
		}
	}
	if mm := master(after); mm == "" || mm == oldMaster {
		t.Fatalf("no new master after the master's pod was deleted: %s", after.Body)
	}
	var writer *goredis.Client
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		c := redisClient(after.Str("datastore.connection.master"), "", "Redis-Secret-2", "")
		if err := c.Set(ctx, "after-failover", 1, 0).Err(); err == nil {
			writer = c
			break
		}
		_ = c.Close()
	}
	if writer == nil {
		t.Fatalf("no write accepted at the new master %s", after.Str("datastore.connection.master"))
	}
	t.Logf("master's pod deleted → first write on the new master: %s", time.Since(t1).Round(100*time.Millisecond))
	if n, err := writer.DBSize(ctx).Result(); err != nil || n != 101 {
		t.Errorf("after failover the master holds %d keys (%v), want 101", n, err)
	}
	_ = writer.Close()
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)

	// Resize: a bigger flavor gives Redis more memory, one node goes.
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores/"+ds+"/resize", map[string]any{"resize": map[string]any{
		"flavor": map[string]any{"vcpus": 1, "ram": 2048, "disk": 5}, "node_count": 2}}); r.Status != http.StatusOK {
		t.Fatalf("resize: %d %s", r.Status, r.Body)
	}
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if got := len(r.Get("datastore.instances").([]any)); got != 2 {
		t.Errorf("after resize %d instances", got)
	}
	if n, names := readyPods(t, k, ds, redisServers); n != 2 || len(names) != 2 {
		t.Errorf("after resize %d ready of %v", n, names)
	}
	addrs = addresses(r)
	for i, v := range configOf(t, addrs, internal, "maxmemory") {
		if v != strconv.Itoa(2048<<20*75/100) {
			t.Errorf("maxmemory on %s = %s after resize to 2048 MB", addrs[i], v)
		}
	}
	if n, err := mustRedis(t, addrs[0], "", "Redis-Secret-2").DBSize(ctx).Result(); err != nil || n != 101 {
		t.Errorf("after resize the master holds %d keys (%v)", n, err)
	}
	deleteAndCheck(t, e, k, ds)
}

// masterPod is the pod behind the node Service on addr.
func masterPod(t *testing.T, k kubernetes.Interface, ds, addr string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	svcs, err := k.CoreV1().Services(kube.Namespace(ds)).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		if len(s.Spec.ExternalIPs) == 0 || s.Spec.ExternalIPs[0] != host || len(s.Spec.Ports) == 0 || strconv.Itoa(int(s.Spec.Ports[0].Port)) != port {
			continue
		}
		return s.Spec.Selector["statefulset.kubernetes.io/pod-name"]
	}
	t.Fatalf("no Service on %s", addr)
	return ""
}

// checkRedisLogs finds the servers' and sentinels' start in the logs API.
func checkRedisLogs(t *testing.T, e *at.Env, ds string) {
	t.Helper()
	for _, job := range []string{"redis", "redis-sentinel"} {
		var body string
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds+"/logs?job="+job+"&limit=500", nil)
			body = string(r.Body)
			if r.Status == http.StatusOK && (strings.Contains(body, "ready to accept connections") || strings.Contains(body, "+monitor master")) {
				break
			}
		}
		if !strings.Contains(body, "ready to accept connections") && !strings.Contains(body, "+monitor master") {
			t.Errorf("no start of %s in the logs: %.2000s", job, body)
		}
	}
}

// checkRedisMetrics: every server is up and measured, and the master's
// database 0 holds the keys written.
func checkRedisMetrics(t *testing.T, e *at.Env, ds string) {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
	var hosts []string
	for i := range r.Get("datastore.instances").([]any) {
		hosts = append(hosts, r.Str(fmt.Sprintf("datastore.instances.%d.hostname", i)))
	}
	path := "/v1/datastores/" + ds + "/metrics"
	recent := "?start=" + url.QueryEscape(time.Now().UTC().Add(-10*time.Minute).Format("2006-01-02T15:04:05"))
	var problems []string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		problems = nil
		inst := metricsOf(t, e.Do(at.TokenA, http.MethodGet, path+recent, nil))
		dbs := metricsOf(t, e.Do(at.TokenA, http.MethodGet, path+"/databases"+recent, nil))
		for _, host := range hosts {
			if s := inst["up"][host]; s.Last == nil || *s.Last != 1 {
				problems = append(problems, fmt.Sprintf("instance %s up: %+v", host, s))
			}
			if s, ok := inst["connections"][host]; !ok || len(s.Values) == 0 {
				problems = append(problems, fmt.Sprintf("instance %s connections: %+v", host, s))
			}
		}
		if s := dbs["keys"]["db0"]; s.Last == nil || *s.Last < 100 {
			problems = append(problems, fmt.Sprintf("database db0 keys: %+v", s))
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Errorf("metrics of Redis on Kubernetes: %s", p)
	}
}

// checkRedisRestore waits for a backup of ds that started after wrote,
// restores it into a new two-node datastore and finds the 100 keys on
// both nodes. Two nodes: the replica must copy the restored data, not have
// its sentinel promote it, empty, while the first pod fetches the
// snapshot.
func checkRedisRestore(t *testing.T, e *at.Env, ds string, wrote time.Time) {
	t.Helper()
	rr, restored := restoreAfter(t, e, "redis", ds, wrote, 2)
	ctx := context.Background()
	for _, a := range addresses(rr) {
		c := mustRedis(t, a, "", redisPassword)
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 100 {
			t.Errorf("%s of the restored datastore holds %d keys (%v), want 100", a, n, err)
		}
		if v, err := c.Get(ctx, "k42").Int(); err != nil || v != 42 {
			t.Errorf("restored k42 on %s = %d (%v)", a, v, err)
		}
	}
	deleteRestored(t, e, restored)
}

// restoreAfter waits for a backup of ds that started after t0 (dbaasd's
// scheduler takes them; the tests shorten its interval), restores the
// newest backup into a new datastore of eng with nodes nodes, and returns
// it ACTIVE, with its id.
func restoreAfter(t *testing.T, e *at.Env, eng, ds string, t0 time.Time, nodes int) (*at.Response, string) {
	t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(2 * time.Second) {
		var acts struct {
			Actions []struct {
				Name, Status string
				StartTime    string `json:"start_time"`
			}
		}
		r := e.Do(at.TokenA, http.MethodGet, "/v1/actions?datastore_id="+ds, nil)
		if err := json.Unmarshal(r.Body, &acts); err != nil {
			t.Fatalf("actions: %v: %s", err, r.Body)
		}
		done := false
		for _, a := range acts.Actions {
			started, err := time.Parse("2006-01-02T15:04:05", a.StartTime)
			if a.Name == "datastore.backup" && a.Status == "SUCCESS" && err == nil && started.After(t0) {
				done = true
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backup after %s: %s", t0.Format(time.RFC3339), r.Body)
		}
	}
	body := e.DatastoreBody(eng, strings.ReplaceAll(eng, "_", "-")+"-k8s-restored", nodes)
	body["datastore"].(map[string]any)["restore"] = map[string]any{"datastore_id": ds}
	start := time.Now()
	restored := at.MustPost(t, e, "/v1/datastores", body).Str("datastore.id")
	rr := e.WaitStatus(at.TokenA, "/v1/datastores/"+restored, "datastore", "ACTIVE", wait)
	t.Logf("%s: restore of a snapshot into %d node(s) → ACTIVE: %s", eng, nodes, time.Since(start).Round(time.Second))
	return rr, restored
}

// deleteRestored deletes a datastore a test restored and waits until it
// is gone.
func deleteRestored(t *testing.T, e *at.Env, id string) {
	t.Helper()
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+id, nil); r.Status >= 300 {
		t.Fatalf("delete the restored datastore: %d %s", r.Status, r.Body)
	}
	e.WaitGone(at.TokenA, "/v1/datastores/"+id, wait)
}

// checkNoRestore: without an object storage an engine of eng has no
// backups on this runtime, and a restore from ds is refused, saying so.
func checkNoRestore(t *testing.T, e *at.Env, eng, ds string) {
	t.Helper()
	body := e.DatastoreBody(eng, strings.ReplaceAll(eng, "_", "-")+"-k8s-restored", 1)
	body["datastore"].(map[string]any)["restore"] = map[string]any{"datastore_id": ds}
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", body); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "have no backups on this deployment") {
		t.Errorf("a restore from a %s datastore on Kubernetes without an object storage: %d %s", eng, r.Status, r.Body)
	}
}
