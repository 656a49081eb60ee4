package telemetry

import (
	"errors"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestSelfMetrics(t *testing.T) {
	t.Parallel()
	m := NewSelf()
	m.ObserveRequest("GET", "/v1/datastores/{datastore_id}", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "/v1/datastores/{datastore_id}", 404, time.Millisecond)
	m.ActionDone("datastore.create", "SUCCESS", 2*time.Second)
	m.EngineError("datastore")
	m.QueueDepth(7)
	m.sampled("postgresql", nil, 10*time.Millisecond)
	m.sampled("postgresql", errors.New("down"), 10*time.Millisecond)
	m.shipped(5, nil)
	m.shipped(0, errors.New("sink down"))
	r := doScrape(t, m.Handler(), http.MethodGet, "/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	find := func(name string, labels map[string]string) *dto.Metric {
		t.Helper()
		for _, mt := range r.families[name].GetMetric() {
			got := labelsOf(mt)
			ok := true
			for k, v := range labels {
				ok = ok && got[k] == v
			}
			if ok {
				return mt
			}
		}
		t.Fatalf("no %s%v in\n%s", name, labels, r.body)
		return nil
	}
	if h := find("dbaasd_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/v1/datastores/{datastore_id}", "code": "404"}); h.GetHistogram().GetSampleCount() != 1 {
		t.Fatal("request histogram")
	}
	if h := find("dbaasd_reconcile_action_duration_seconds", map[string]string{"action": "datastore.create", "status": "SUCCESS"}); h.GetHistogram().GetSampleSum() != 2 {
		t.Fatal("action histogram")
	}
	if g := find("dbaasd_reconcile_queue_depth", nil); g.GetGauge().GetValue() != 7 {
		t.Fatal("queue depth")
	}
	if c := find("dbaasd_reconcile_errors_total", map[string]string{"kind": "datastore"}); c.GetCounter().GetValue() != 1 {
		t.Fatal("reconcile errors")
	}
	if c := find("dbaasd_telemetry_samples_total", map[string]string{"engine": "postgresql"}); c.GetCounter().GetValue() != 2 {
		t.Fatal("samples")
	}
	if c := find("dbaasd_telemetry_sample_errors_total", map[string]string{"engine": "postgresql"}); c.GetCounter().GetValue() != 1 {
		t.Fatal("sample errors")
	}
	if c := find("dbaasd_log_export_lines_total", nil); c.GetCounter().GetValue() != 5 {
		t.Fatal("exported lines")
	}
	if c := find("dbaasd_log_export_errors_total", nil); c.GetCounter().GetValue() != 1 {
		t.Fatal("export errors")
	}
	find("go_goroutines", nil)

	var none *Self // a nil Self records nothing and does not panic
	none.ObserveRequest("GET", "/", 200, 0)
	none.ActionDone("a", "b", 0)
	none.EngineError("x")
	none.QueueDepth(1)
	none.sampled("x", nil, 0)
	none.shipped(1, nil)
}
