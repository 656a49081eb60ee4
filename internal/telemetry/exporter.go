package telemetry

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dbaasd/dbaasd/internal/api"
	"github.com/dbaasd/dbaasd/internal/store"
)

// ExporterPath is where the Prometheus exporter answers; the daemon mounts
// it under /prometheus.
const ExporterPath = "/prometheus/metrics"

// TokenResolver returns the project of a Prometheus metrics token value;
// ok is false for unknown and revoked values.
type TokenResolver func(ctx context.Context, value string) (projectID string, ok bool)

// Labels of exported series.
var (
	instanceLabels = []string{"datastore_id", "datastore_name", "engine", "instance", "hostname", "role"}
	databaseLabels = []string{"datastore_id", "datastore_name", "engine", "database"}
)

// Exporter serves a project's latest samples in the Prometheus text
// format at ExporterPath, to a scraper that sends one of the project's
// metrics tokens as "Authorization: Bearer <value>". Instance metrics are
// named dbaas_<name>, database metrics dbaas_database_<name>; names ending
// in _total are counters, the others gauges (see docs/metrics.md).
func (s *Service) Exporter(resolve TokenResolver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != ExporterPath {
			api.WriteError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			api.WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		value, ok := bearer(r.Header.Get("Authorization"))
		project := ""
		if ok {
			project, ok = resolve(r.Context(), value)
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dbaasd"`)
			api.WriteError(w, http.StatusUnauthorized, "Authorization: Bearer <prometheus metrics token> is missing, unknown or revoked")
			return
		}
		points, err := s.latest(r.Context(), project)
		if err != nil {
			s.log.Error("prometheus exporter", "project_id", project, "error", err)
			api.WriteError(w, http.StatusServiceUnavailable, "metrics are unavailable right now")
			return
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(snapshot(points))
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
}

// bearer extracts the credential of an "Authorization: Bearer" header.
func bearer(h string) (string, bool) {
	scheme, value, ok := strings.Cut(strings.TrimSpace(h), " ")
	value = strings.TrimSpace(value)
	return value, ok && strings.EqualFold(scheme, "Bearer") && value != ""
}

// exported is one series of the exposition.
type exported struct {
	name, help string
	counter    bool
	labels     []string // names
	values     []string // label values
	v          float64
}

// latest returns the newest sample of every instance and database of the
// project's live datastores, taken within the last three intervals.
func (s *Service) latest(ctx context.Context, project string) ([]exported, error) {
	list, err := s.store.DatastoreSummaries().List(ctx, store.Filter{"project_id": project, "deleted": false})
	if err != nil {
		return nil, err
	}
	now := s.now()
	since := now.Add(-3*s.cfg.Interval - 5*time.Second)
	var out []exported
	for i := range list {
		ds := &list[i]
		t, err := s.load(ctx, ds)
		if err != nil {
			return nil, err
		}
		for _, kind := range []string{store.SampleInstance, store.SampleDatabase} {
			samples, err := s.store.QuerySamples(ctx, ds.ID, kind, since, now)
			if err != nil {
				return nil, err
			}
			newest := map[string]store.Sample{}
			for _, smp := range samples { // oldest first: the last one wins
				newest[smp.Key] = smp
			}
			for key, smp := range newest {
				var labels, values []string
				if kind == store.SampleInstance {
					in, ok := t.insts[key]
					if !ok {
						continue // removed since
					}
					labels, values = instanceLabels, []string{ds.ID, ds.Name, t.engine, address(in), in.Hostname, in.Role}
				} else {
					labels, values = databaseLabels, []string{ds.ID, ds.Name, t.engine, key}
				}
				for name, v := range smp.Values {
					out = append(out, exported{name: promName(kind, name), help: helpOf(name), counter: isCounter(name),
						labels: labels, values: values, v: v})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// snapshot is a prometheus.Collector of fixed series. It describes none
// (an unchecked collector): its series change with every scrape.
type snapshot []exported

func (snapshot) Describe(chan<- *prometheus.Desc) {}

func (sn snapshot) Collect(ch chan<- prometheus.Metric) {
	descs := map[string]*prometheus.Desc{}
	for _, e := range sn {
		d := descs[e.name]
		if d == nil {
			d = prometheus.NewDesc(e.name, e.help, e.labels, nil)
			descs[e.name] = d
		}
		typ := prometheus.GaugeValue
		if e.counter {
			typ = prometheus.CounterValue
		}
		if m, err := prometheus.NewConstMetric(d, typ, e.v, e.values...); err == nil {
			ch <- m
		}
	}
}
