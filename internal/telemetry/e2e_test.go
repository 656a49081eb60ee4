package telemetry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/httpapi"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/syncbuf"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

const wait = 2 * time.Minute

func mustDo(t *testing.T, e *at.Env, token, method, path string, body any, want int) *at.Response {
	t.Helper()
	r := e.Do(token, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r
}

func pgConnect(addr, user, password, db string) (*pgx.Conn, error) {
	host, port, _ := net.SplitHostPort(addr)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable connect_timeout=5", host, port, user, db))
	if err != nil {
		return nil, err
	}
	cfg.Password = password
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

// metric is one series of a metrics answer.
type metric struct {
	Values, Timestamps []float64
	IP                 string
	Max, Last          *float64
}

func metricsOf(t *testing.T, r *at.Response) (map[string]map[string]metric, int) {
	t.Helper()
	var body struct {
		Metrics map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]metric{}
	step := 0
	for name, raw := range body.Metrics {
		if name == "step" {
			_ = json.Unmarshal(raw, &step)
			continue
		}
		m := map[string]metric{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out[name] = m
	}
	return out, step
}

// TestTelemetryEndToEnd runs dbaasd with a PostgreSQL datastore sampled
// every second and checks, through the API: metrics that follow a
// workload (per instance and per database), the Prometheus exporter and
// its tokens, a failed login found in the logs and in the log export, bad
// ranges, dbaasd's own /metrics, and that no secret reaches dbaasd's log.
func TestTelemetryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines")
	}
	t.Parallel()
	var logs syncbuf.Buffer
	e := at.Start(t, at.Options{Reconcile: true, MetricsInterval: time.Second, LogWriter: &logs})
	t.Logf("%v: dbaasd started", time.Now().Format("15:04:05.000"))
	ds := e.CreateDatastore(at.TokenA, "postgresql", "telemetry", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	master, ip, hostname := r.Str("datastore.connection.master"), r.Str("datastore.instances.0.ip"), r.Str("datastore.instances.0.hostname")
	const password = "App-Secret-Pass-1"
	user := mustDo(t, e, at.TokenA, http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{
		"datastore_id": ds, "name": "app", "password": password}}, http.StatusCreated).Str("user.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	db := mustDo(t, e, at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{
		"datastore_id": ds, "name": "appdb", "owner_id": user}}, http.StatusCreated).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)

	// (a) A workload shows in the metrics: per instance and per database.
	conn, err := pgConnect(master, "app", password, "appdb")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE orders (id serial PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // an idle interval before the burst
	for i := 0; i < 300; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO orders (v) VALUES ('x')"); err != nil {
			t.Fatal(err)
		}
	}
	// Ending the session flushes its statistics at once.
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: workload done", time.Now().Format("15:04:05.000"))
	metricsPath := "/v1/datastores/" + ds + "/metrics"
	// Four minutes of 1s samples fit in one answer without downsampling.
	recent := "?start=" + url.QueryEscape(time.Now().UTC().Add(-4*time.Minute).Format("2006-01-02T15:04:05"))
	var inst, dbs map[string]map[string]metric
	deadline := time.Now().Add(30 * time.Second)
	for {
		var step int
		inst, step = metricsOf(t, mustDo(t, e, at.TokenA, http.MethodGet, metricsPath+recent, nil, http.StatusOK))
		dbs, _ = metricsOf(t, mustDo(t, e, at.TokenA, http.MethodGet, metricsPath+"/databases"+recent, nil, http.StatusOK))
		if step != 1 {
			t.Fatalf("step %d, want the 1s interval", step)
		}
		// The rates add up to the commits: 300 inserts, most of them
		// flushed to the statistics by now.
		if c := dbs["commits_per_second"]["appdb"]; integral(c) >= 250 && *c.Max >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("appdb commits never followed the workload: %+v", dbs["commits_per_second"])
		}
		time.Sleep(500 * time.Millisecond)
	}
	if c := dbs["commits_per_second"]["appdb"]; c.Values[len(c.Values)-1] > 5 && c.Values[0] > 5 {
		t.Errorf("appdb commits %v: want idle points around the burst", c.Values)
	}
	if s := dbs["size_bytes"]["appdb"]; s.Last == nil || *s.Last <= 0 || s.IP != ip {
		t.Errorf("appdb size %+v", s)
	}
	for _, name := range []string{"up", "cpu_percent", "memory_bytes", "disk_used_bytes", "connections", "commits_per_second",
		"rows_written_per_second", "cache_hit_ratio"} {
		m, ok := inst[name][hostname]
		if !ok || len(m.Values) == 0 || m.IP != ip {
			t.Errorf("instance metric %s: %+v (keys %v)", name, m, keys(inst[name]))
		}
	}
	if up := inst["up"][hostname]; up.Last == nil || *up.Last != 1 {
		t.Errorf("up = %+v", up)
	}
	if m := inst["memory_bytes"][hostname]; m.Last == nil || *m.Last < 1<<20 {
		t.Errorf("memory_bytes = %+v", m)
	}
	if c := inst["commits_per_second"][hostname]; integral(c) < 250 {
		t.Errorf("instance commits %+v", c)
	}

	t.Logf("%v: metrics seen", time.Now().Format("15:04:05.000"))
	// (d) Bad ranges are refused.
	now := time.Now().UTC()
	f := func(t time.Time) string { return url.QueryEscape(t.Format("2006-01-02T15:04:05")) }
	for _, q := range []string{
		"?start=" + f(now) + "&end=" + f(now.Add(-time.Hour)),
		"?start=" + f(now) + "&end=" + f(now),
		"?start=" + f(now.Add(-32*24*time.Hour)) + "&end=" + f(now),
		"?start=yesterday",
	} {
		for _, p := range []string{metricsPath, metricsPath + "/databases", "/v1/datastores/" + ds + "/logs"} {
			mustDo(t, e, at.TokenA, http.MethodGet, p+q, nil, http.StatusBadRequest)
		}
	}
	mustDo(t, e, at.TokenA, http.MethodGet, "/v1/datastores/"+ds+"/logs?limit=0", nil, http.StatusBadRequest)
	mustDo(t, e, at.TokenB, http.MethodGet, metricsPath, nil, http.StatusNotFound)
	// The default range (the last hour) is downsampled to at most 300 points.
	if _, step := metricsOf(t, mustDo(t, e, at.TokenA, http.MethodGet, metricsPath, nil, http.StatusOK)); step != 12 {
		t.Errorf("step of the last hour: %d, want 12", step)
	}

	t.Logf("%v: ranges checked", time.Now().Format("15:04:05.000"))
	// (b) The Prometheus exporter with the project's tokens.
	tokA := mustDo(t, e, at.TokenA, http.MethodPost, "/v1/prometheus-metrics-tokens",
		map[string]any{"prometheus-metrics-token": map[string]any{"name": "prom"}}, http.StatusCreated)
	tokB := mustDo(t, e, at.TokenB, http.MethodPost, "/v1/prometheus-metrics-tokens",
		map[string]any{"prometheus-metrics-token": map[string]any{"name": "prom"}}, http.StatusCreated)
	valueA, valueB := tokA.Str("prometheus-metrics-token.value"), tokB.Str("prometheus-metrics-token.value")
	scrape := func(value string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+httpapi.PrometheusPath, nil)
		if value != "" {
			req.Header.Set("Authorization", "Bearer "+value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := scrape(valueA)
	if status != http.StatusOK {
		t.Fatalf("scrape with the project's token: %d %s", status, body)
	}
	for _, want := range []string{
		fmt.Sprintf(`dbaas_up{datastore_id="%s",datastore_name="telemetry",engine="postgresql",hostname="%s",instance="%s",role="MASTER"} 1`, ds, hostname, master),
		"# TYPE dbaas_commits_total counter",
		fmt.Sprintf(`dbaas_database_size_bytes{database="appdb",datastore_id="%s",datastore_name="telemetry",engine="postgresql"}`, ds),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %s:\n%s", want, body)
		}
	}
	if status, body := scrape(valueB); status != http.StatusOK || strings.Contains(body, ds) {
		t.Errorf("another project's token: %d, this project's series: %v", status, strings.Contains(body, ds))
	}
	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Errorf("no token: %d", status)
	}
	mustDo(t, e, at.TokenA, http.MethodDelete, "/v1/prometheus-metrics-tokens/"+tokA.Str("prometheus-metrics-token.id"), nil, http.StatusNoContent)
	if status, body := scrape(valueA); status != http.StatusUnauthorized || !strings.Contains(body, `"code":401`) {
		t.Errorf("revoked token: %d %s", status, body)
	}

	t.Logf("%v: exporter checked", time.Now().Format("15:04:05.000"))
	// (c) A failed login is in the logs, found with the filters, and in
	// the log export once it is on.
	failLogin := func() {
		t.Helper()
		if c, err := pgConnect(master, "app", "Wrong-Password-9", "appdb"); err == nil {
			_ = c.Close(ctx)
			t.Fatal("a wrong password was accepted")
		}
	}
	failLogin()
	logsPath := "/v1/datastores/" + ds + "/logs?job=postgresql&limit=5&databases=appdb&ips=" + url.QueryEscape(ip)
	var found map[string]any
	deadline = time.Now().Add(30 * time.Second)
	for found == nil {
		lr := mustDo(t, e, at.TokenA, http.MethodGet, logsPath, nil, http.StatusOK)
		lines, _ := lr.Get("logs").([]any)
		if len(lines) > 5 {
			t.Fatalf("limit 5 gave %d lines", len(lines))
		}
		for _, l := range lines {
			line := l.(map[string]any)
			if strings.Contains(line["value"].(string), `password authentication failed for user "app"`) {
				found = line
			}
		}
		if found == nil && time.Now().After(deadline) {
			t.Fatalf("the failed login is not in the logs: %s", lr.Body)
		}
		if found == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	labels := found["labels"].(map[string]any)
	if found["ip"] != ip || found["datastore_id"] != ds || labels["user"] != "app" || labels["database"] != "appdb" ||
		labels["level"] != "fatal" || labels["job"] != "postgresql" || labels["instance"] != master {
		t.Errorf("log line %v", found)
	}
	for _, q := range []string{"?databases=postgres", "?job=mysql-error", "?ips=10.9.9.9"} {
		lr := mustDo(t, e, at.TokenA, http.MethodGet, "/v1/datastores/"+ds+"/logs"+q, nil, http.StatusOK)
		if strings.Contains(string(lr.Body), `password authentication failed for user \"app\"`) {
			t.Errorf("filter %s kept the failed login", q)
		}
	}

	mustDo(t, e, at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/log-platform",
		map[string]any{"log_platform": map[string]any{"log_group": "audit"}}, http.StatusOK)
	if err := e.D.Telemetry.ShipOnce(ctx); err != nil { // export starts at the current end
		t.Fatal(err)
	}
	failLogin()
	sink := filepath.Join(e.DataDir, "log-export", at.ProjectA, "audit.jsonl")
	var exported map[string]any
	deadline = time.Now().Add(30 * time.Second)
	for exported == nil {
		if err := e.D.Telemetry.ShipOnce(ctx); err != nil {
			t.Fatal(err)
		}
		exported = findExported(t, sink)
		if exported == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the failed login never reached %s", sink)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if exported["datastore_id"] != ds || exported["ip"] != ip || exported["job"] != "postgresql" ||
		exported["labels"].(map[string]any)["user"] != "app" {
		t.Errorf("exported line %v", exported)
	}
	mustDo(t, e, at.TokenA, http.MethodDelete, "/v1/datastores/"+ds+"/log-platform", nil, http.StatusNoContent)

	t.Logf("%v: logs checked", time.Now().Format("15:04:05.000"))
	// (e) dbaasd's own metrics show requests, actions and samples.
	resp, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`dbaasd_http_request_duration_seconds_count{code="200",method="GET",route="/v1/datastores/{datastore_id}"}`,
		`dbaasd_reconcile_action_duration_seconds_count{action="`,
		`dbaasd_telemetry_samples_total{engine="postgresql"}`,
		"dbaasd_reconcile_queue_depth",
	} {
		if !strings.Contains(string(own), want) {
			t.Errorf("/metrics lacks %s in\n%s", want, grep(string(own), "_count{"))
		}
	}

	t.Logf("%v: own metrics checked", time.Now().Format("15:04:05.000"))
	// A Redis datastore's life, then the PostgreSQL one's end: no secret
	// reaches dbaasd's log.
	rds := e.CreateDatastore(at.TokenA, "redis", "cache", 1)
	e.WaitStatus(at.TokenA, "/v1/datastores/"+rds, "datastore", "ACTIVE", wait)
	for _, id := range []string{rds, ds} {
		mustDo(t, e, at.TokenA, http.MethodDelete, "/v1/datastores/"+id, nil, http.StatusNoContent)
	}
	for _, id := range []string{rds, ds} {
		e.WaitGone(at.TokenA, "/v1/datastores/"+id, wait)
	}
	t.Logf("%v: datastores deleted", time.Now().Format("15:04:05.000"))
	stored, err := e.D.Store.Datastores().Get(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	text := logs.String()
	secrets := map[string]string{"user password": password, "wrong password": "Wrong-Password-9", "Redis password": "Redis-Secret-1",
		"API token": at.TokenA, "metrics token A": valueA, "metrics token B": valueB, "admin password": stored.AdminPassword}
	for what, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("dbaasd's log holds the %s", what)
		}
	}
	if !strings.Contains(text, `"request_id":"req-`) || !strings.Contains(text, `"msg":"request"`) {
		t.Errorf("request logs without request IDs")
	}
}

// findExported returns the exported failed login of user app, if any.
func findExported(t *testing.T, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if v, _ := rec["value"].(string); strings.Contains(v, `password authentication failed for user "app"`) {
			return rec
		}
	}
	return nil
}

// integral is what a rate series adds up to: each point is the rate over
// the time since the one before.
func integral(m metric) float64 {
	var sum float64
	for i := 1; i < len(m.Values); i++ {
		sum += m.Values[i] * (m.Timestamps[i] - m.Timestamps[i-1])
	}
	return sum
}

// grep returns the lines of text that contain s.
func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
