package telemetry

import (
	"context"
	"math"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// maxPoints bounds the points of one series in an answer: longer ranges
// are downsampled.
const maxPoints = 300

// point is one value of a series.
type point struct {
	t time.Time
	v float64
}

// Step is the distance in seconds between the points of an answer for a
// range: the sampling interval, or, when the range would hold more than
// maxPoints samples, the smallest multiple of the interval that fits.
func (s *Service) Step(from, to time.Time) int {
	base := max(int(math.Ceil(s.cfg.Interval.Seconds())), 1)
	span := to.Sub(from).Seconds()
	if span <= float64(base*maxPoints) {
		return base
	}
	return int(math.Ceil(span/float64(maxPoints)/float64(base))) * base
}

// Metrics implements api.Telemetry. Gauges are returned as sampled;
// counters as per-second rates between consecutive samples (a counter
// that went down, a restarted server, gives no point); the cache hit ratio
// from the hits and misses between consecutive samples. When Step is
// larger than the interval, the points of each step are averaged into one
// at the step's start (steps are aligned to the Unix epoch). Instances are
// keyed by hostname, databases by name.
func (s *Service) Metrics(ctx context.Context, datastoreID string, perDatabase bool, start, end time.Time) (map[string]map[string]model.Series, int, error) {
	kind := store.SampleInstance
	if perDatabase {
		kind = store.SampleDatabase
	}
	step := s.Step(start, end)
	// Look back a little: the first rate in range needs the sample before.
	samples, err := s.store.QuerySamples(ctx, datastoreID, kind, start.Add(-3*s.cfg.Interval), end)
	if err != nil {
		return nil, 0, err
	}
	keys := map[string]string{} // instance ID → hostname
	hosts := map[string]string{}
	if !perDatabase {
		insts, err := s.store.Instances().List(ctx, store.Filter{DatastoreID: datastoreID})
		if err != nil {
			return nil, 0, err
		}
		for _, in := range insts {
			keys[in.ID], hosts[in.ID] = in.Hostname, in.Host
		}
	}
	var order []string
	groups := map[string][]store.Sample{}
	for _, smp := range samples {
		if _, ok := groups[smp.Key]; !ok {
			order = append(order, smp.Key)
		}
		groups[smp.Key] = append(groups[smp.Key], smp)
	}
	out := map[string]map[string]model.Series{}
	downsample := step > max(int(math.Ceil(s.cfg.Interval.Seconds())), 1)
	for _, key := range order {
		list := groups[key]
		label, ip := key, list[len(list)-1].IP
		if h := keys[key]; h != "" {
			label = h
		}
		if h := hosts[key]; h != "" {
			ip = h
		}
		for name, pts := range derive(list) {
			pts = within(pts, start, end)
			if downsample {
				pts = average(pts, step)
			}
			if len(pts) == 0 {
				continue
			}
			sr := model.Series{IP: ip, Timestamps: make([]float64, len(pts)), Values: make([]float64, len(pts))}
			for i, p := range pts {
				sr.Timestamps[i] = float64(p.t.UnixMicro()) / 1e6
				sr.Values[i] = p.v
			}
			if out[name] == nil {
				out[name] = map[string]model.Series{}
			}
			out[name][label] = sr
		}
	}
	return out, step, nil
}

// derive turns the samples of one series key (oldest first) into the
// API's series: gauges as they are, counters as rates, and the cache hit
// ratio.
func derive(list []store.Sample) map[string][]point {
	out := map[string][]point{}
	for i, smp := range list {
		for name, v := range smp.Values {
			if !isCounter(name) {
				out[name] = append(out[name], point{smp.TS, v})
			}
		}
		if i == 0 {
			continue
		}
		prev := list[i-1]
		dt := smp.TS.Sub(prev.TS).Seconds()
		if dt <= 0 {
			continue
		}
		delta := func(name string) (float64, bool) {
			v, ok1 := smp.Values[name]
			p, ok2 := prev.Values[name]
			if !ok1 || !ok2 || v < p {
				return 0, false
			}
			return v - p, true
		}
		for name := range smp.Values {
			if !isCounter(name) {
				continue
			}
			if d, ok := delta(name); ok {
				rn, f := rateName(name)
				out[rn] = append(out[rn], point{smp.TS, d / dt * f})
			}
		}
		h, ok1 := delta(engine.MetricCacheHits)
		m, ok2 := delta(engine.MetricCacheMisses)
		if ok1 && ok2 && h+m > 0 {
			out[MetricCacheHitRatio] = append(out[MetricCacheHitRatio], point{smp.TS, h / (h + m)})
		}
	}
	return out
}

// within keeps the points in [from, to].
func within(pts []point, from, to time.Time) []point {
	out := pts[:0:0]
	for _, p := range pts {
		if !p.t.Before(from) && !p.t.After(to) {
			out = append(out, p)
		}
	}
	return out
}

// average merges the points of each step (aligned to the Unix epoch) into
// their mean, stamped at the step's start.
func average(pts []point, step int) []point {
	var out []point
	var sum float64
	var n int
	var bucket int64 = math.MinInt64
	flush := func() {
		if n > 0 {
			out = append(out, point{time.Unix(bucket, 0).UTC(), sum / float64(n)})
		}
	}
	for _, p := range pts {
		b := p.t.Unix() / int64(step) * int64(step)
		if b != bucket {
			flush()
			bucket, sum, n = b, 0, 0
		}
		sum += p.v
		n++
	}
	flush()
	return out
}
