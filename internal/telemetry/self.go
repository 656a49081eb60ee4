package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Self is dbaasd's own metrics, served at /metrics: HTTP requests by
// route and status, the reconciler's queue and actions, and telemetry's
// own work. A nil *Self records nothing.
type Self struct {
	reg          *prometheus.Registry
	requests     *prometheus.HistogramVec
	queue        prometheus.Gauge
	actions      *prometheus.HistogramVec
	engineErrors *prometheus.CounterVec
	samples      *prometheus.CounterVec
	sampleErrors *prometheus.CounterVec
	sampleTime   *prometheus.HistogramVec
	exported     prometheus.Counter
	exportErrors prometheus.Counter
}

// NewSelf returns dbaasd's own metrics, with the Go runtime's and the
// process's.
func NewSelf() *Self {
	m := &Self{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dbaasd_http_request_duration_seconds", Help: "Time to answer API requests, by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dbaasd_reconcile_queue_depth", Help: "Actions waiting to run.",
		}),
		actions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dbaasd_reconcile_action_duration_seconds", Help: "Time actions ran, by action name and outcome (SUCCESS, ERROR, PENDING = will retry).",
			Buckets: []float64{.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"action", "status"}),
		engineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbaasd_reconcile_errors_total", Help: "Failed action attempts, by the kind of resource the action was on.",
		}, []string{"kind"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbaasd_telemetry_samples_total", Help: "Clusters sampled, by engine.",
		}, []string{"engine"}),
		sampleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbaasd_telemetry_sample_errors_total", Help: "Cluster samples that failed, by engine.",
		}, []string{"engine"}),
		sampleTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dbaasd_telemetry_sample_duration_seconds", Help: "Time to sample one cluster, by engine.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"engine"}),
		exported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dbaasd_log_export_lines_total", Help: "Log lines shipped to log export sinks.",
		}),
		exportErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dbaasd_log_export_errors_total", Help: "Log export batches that failed (they are retried).",
		}),
	}
	m.reg.MustRegister(m.requests, m.queue, m.actions, m.engineErrors, m.samples, m.sampleErrors, m.sampleTime,
		m.exported, m.exportErrors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Self) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest records one finished API request (an api.Observer).
func (m *Self) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// ActionDone records an action's run (reconcile.Metrics).
func (m *Self) ActionDone(name, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.actions.WithLabelValues(name, status).Observe(d.Seconds())
}

// EngineError counts a failed action attempt (reconcile.Metrics); the
// reconciler names the kind of resource the action was on.
func (m *Self) EngineError(kind string) {
	if m == nil {
		return
	}
	m.engineErrors.WithLabelValues(kind).Inc()
}

// QueueDepth records how many actions wait (reconcile.Metrics).
func (m *Self) QueueDepth(n int) {
	if m == nil {
		return
	}
	m.queue.Set(float64(n))
}

func (m *Self) sampled(engine string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.samples.WithLabelValues(engine).Inc()
	m.sampleTime.WithLabelValues(engine).Observe(d.Seconds())
	if err != nil {
		m.sampleErrors.WithLabelValues(engine).Inc()
	}
}

func (m *Self) shipped(lines int, err error) {
	if m == nil {
		return
	}
	m.exported.Add(float64(lines))
	if err != nil {
		m.exportErrors.Inc()
	}
}
