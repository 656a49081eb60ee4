package telemetry

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbaasd/dbaasd/internal/store"
)

// Labels of exported series.
var (
	instanceLabels = []string{"datastore_id", "datastore_name", "engine", "instance", "hostname", "role"}
	databaseLabels = []string{"datastore_id", "datastore_name", "engine", "database"}
)

// Collector returns a project's latest samples as a Prometheus collector
// (the source of api.PrometheusExporter). Instance metrics are named
// dbaas_<name>, database metrics dbaas_database_<name>; names ending in
// _total are counters, the others gauges (see docs/metrics.md).
func (s *Service) Collector(ctx context.Context, project string) (prometheus.Collector, error) {
	points, err := s.latest(ctx, project)
	if err != nil {
		s.log.Error("prometheus exporter", "project_id", project, "error", err)
		return nil, err
	}
	return snapshot(points), nil
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
	list, err := s.store.DatastoreSummaries().List(ctx, store.Filter{ProjectID: project, Deleted: store.No})
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
