package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/httpapi"
	"github.com/dbaasd/dbaasd/internal/store"
)

type scrape struct {
	status   int
	header   http.Header
	body     string
	families map[string]*dto.MetricFamily
}

func doScrape(t *testing.T, h http.Handler, method, path, auth string) scrape {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := scrape{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if rec.Code == http.StatusOK {
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(out.body))
		if err != nil {
			t.Fatalf("exposition does not parse: %v\n%s", err, out.body)
		}
		out.families = fams
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func TestExporter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Interval: 10 * time.Second})
	ctx := context.Background()
	other := f.addProject()
	theirs, theirInsts := f.addDatastore(other, "theirs")
	recent, stale := f.now.Add(-15*time.Second), f.now.Add(-10*time.Minute)
	batch := []store.Sample{
		{DatastoreID: f.ds.ID, Kind: store.SampleInstance, Key: f.insts[0].ID, IP: "127.0.0.1", TS: stale,
			Values: map[string]float64{MetricUp: 0}},
		{DatastoreID: f.ds.ID, Kind: store.SampleInstance, Key: f.insts[0].ID, IP: "127.0.0.1", TS: recent,
			Values: map[string]float64{MetricUp: 1, engine.MetricCommits: 1234, engine.MetricConnections: 3}},
		{DatastoreID: f.ds.ID, Kind: store.SampleInstance, Key: f.insts[1].ID, IP: "127.0.0.1", TS: stale,
			Values: map[string]float64{MetricUp: 1}},
		{DatastoreID: f.ds.ID, Kind: store.SampleDatabase, Key: "shop", IP: "127.0.0.1", TS: recent,
			Values: map[string]float64{engine.MetricSizeBytes: 8192}},
		{DatastoreID: theirs.ID, Kind: store.SampleInstance, Key: theirInsts[0].ID, IP: "127.0.0.1", TS: recent,
			Values: map[string]float64{MetricUp: 1}},
	}
	if err := f.st.InsertSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"token-a": f.project, "token-b": other}
	h := httpapi.PrometheusExporter(f.svc.Collector, func(_ context.Context, v string) (string, bool) {
		p, ok := tokens[v]
		return p, ok
	})

	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic token-a", "token-a"} {
		r := doScrape(t, h, http.MethodGet, httpapi.PrometheusPath, auth)
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Title   string `json:"title"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if r.status != http.StatusUnauthorized || json.Unmarshal([]byte(r.body), &body) != nil || body.Error.Code != 401 ||
			body.Error.Message == "" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("Authorization %q: %d %s", auth, r.status, r.body)
		}
	}
	if r := doScrape(t, h, http.MethodGet, "/prometheus/other", "Bearer token-a"); r.status != http.StatusNotFound {
		t.Fatalf("unknown path: %d", r.status)
	}
	if r := doScrape(t, h, http.MethodPost, httpapi.PrometheusPath, "Bearer token-a"); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.status)
	}

	r := doScrape(t, h, http.MethodGet, httpapi.PrometheusPath, "bearer  token-a ")
	if r.status != http.StatusOK {
		t.Fatalf("valid token: %d %s", r.status, r.body)
	}
	up := r.families["dbaas_up"]
	if up == nil || len(up.GetMetric()) != 1 || up.GetType() != dto.MetricType_GAUGE {
		t.Fatalf("dbaas_up: %v (the stale replica sample must not show)\n%s", up, r.body)
	}
	want := map[string]string{"datastore_id": f.ds.ID, "datastore_name": "main", "engine": "fake",
		"instance": "127.0.0.1:21000", "hostname": f.insts[0].Hostname, "role": "MASTER"}
	if got := labelsOf(up.GetMetric()[0]); len(got) != len(want) {
		t.Fatalf("labels %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("labels %v, want %v", got, want)
			}
		}
	}
	if up.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Fatal("dbaas_up is not the newest sample's")
	}
	commits := r.families["dbaas_commits_total"]
	if commits == nil || commits.GetType() != dto.MetricType_COUNTER || commits.GetMetric()[0].GetCounter().GetValue() != 1234 {
		t.Fatalf("dbaas_commits_total: %v", commits)
	}
	size := r.families["dbaas_database_size_bytes"]
	if size == nil || labelsOf(size.GetMetric()[0])["database"] != "shop" || size.GetMetric()[0].GetGauge().GetValue() != 8192 {
		t.Fatalf("dbaas_database_size_bytes: %v", size)
	}
	if strings.Contains(r.body, theirs.ID) {
		t.Fatal("another project's datastore is exported")
	}

	r = doScrape(t, h, http.MethodGet, httpapi.PrometheusPath, "Bearer token-b")
	if r.status != http.StatusOK || strings.Contains(r.body, f.ds.ID) || !strings.Contains(r.body, theirs.ID) {
		t.Fatalf("other project's token: %d\n%s", r.status, r.body)
	}

	// A revoked token stops working at once.
	delete(tokens, "token-a")
	if r := doScrape(t, h, http.MethodGet, httpapi.PrometheusPath, "Bearer token-a"); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.status)
	}
}
