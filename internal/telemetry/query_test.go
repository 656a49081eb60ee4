package telemetry

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/store"
)

func TestStep(t *testing.T) {
	t.Parallel()
	s := &Service{cfg: Config{Interval: 30 * time.Second}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want int
	}{
		{time.Hour, 30},             // 120 points
		{150 * time.Minute, 30},     // exactly 300
		{151 * time.Minute, 60},     // just over: two intervals
		{24 * time.Hour, 300},       // 288 points
		{31 * 24 * time.Hour, 8940}, // 299.6 points
	} {
		got := s.Step(base, base.Add(tc.span))
		if got != tc.want {
			t.Errorf("span %v: step %d, want %d", tc.span, got, tc.want)
		}
		if n := tc.span.Seconds() / float64(got); n > maxPoints {
			t.Errorf("span %v: %v points", tc.span, n)
		}
	}
	if got := (&Service{cfg: Config{Interval: 500 * time.Millisecond}}).Step(base, base.Add(time.Minute)); got != 1 {
		t.Errorf("sub-second interval: step %d, want 1", got)
	}
}

func TestDeriveRatesAndRatio(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	smp := func(sec int, v map[string]float64) store.Sample {
		return store.Sample{TS: t0.Add(time.Duration(sec) * time.Second), Values: v}
	}
	got := derive([]store.Sample{
		smp(0, map[string]float64{"commits_total": 100, MetricCPUSeconds: 10, "connections": 3,
			engine.MetricCacheHits: 0, engine.MetricCacheMisses: 0}),
		smp(10, map[string]float64{"commits_total": 150, MetricCPUSeconds: 12.5, "connections": 5,
			engine.MetricCacheHits: 90, engine.MetricCacheMisses: 10}),
		smp(20, map[string]float64{"commits_total": 20, MetricCPUSeconds: 13, "connections": 4, // server restarted
			engine.MetricCacheHits: 90, engine.MetricCacheMisses: 10}),
		smp(30, map[string]float64{"commits_total": 40, MetricCPUSeconds: 13.5}),
	})
	check := func(name string, want []float64) {
		t.Helper()
		pts := got[name]
		if len(pts) != len(want) {
			t.Fatalf("%s: %v, want %v", name, pts, want)
		}
		for i := range want {
			if math.Abs(pts[i].v-want[i]) > 1e-9 {
				t.Fatalf("%s: %v, want %v", name, pts, want)
			}
		}
	}
	check("connections", []float64{3, 5, 4})
	check("commits_per_second", []float64{5, 2}) // the reset gives no point
	check(MetricCPUPercent, []float64{25, 5, 5})
	check(MetricCacheHitRatio, []float64{0.9}) // no reads in the third interval: no point
	check("cache_hits_per_second", []float64{9, 0})
	if _, ok := got["commits_total"]; ok {
		t.Fatal("a counter is returned as is")
	}
	if !got["commits_per_second"][0].t.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("a rate is stamped %v, want the later sample's time", got["commits_per_second"][0].t)
	}
}

func TestAverageAlignsSteps(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_800_000_000, 0).UTC() // a multiple of 60
	var pts []point
	for i := 0; i < 6; i++ {
		pts = append(pts, point{t0.Add(time.Duration(20*i+5) * time.Second), float64(i)})
	}
	got := average(pts, 60)
	if len(got) != 2 || !got[0].t.Equal(t0) || got[0].v != 1 || !got[1].t.Equal(t0.Add(time.Minute)) || got[1].v != 4 {
		t.Fatalf("average = %+v", got)
	}
}

func TestMetricsFromStoredSamples(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Interval: 10 * time.Second})
	ctx := context.Background()
	start := f.now.Add(-time.Hour)
	var batch []store.Sample
	for i := 0; i <= 30; i++ { // a sample every 10 s for 5 minutes, the first before the range
		at := start.Add(time.Duration(i*10-5) * time.Second)
		for n, in := range f.insts {
			batch = append(batch, store.Sample{DatastoreID: f.ds.ID, Kind: store.SampleInstance, Key: in.ID, IP: in.Host, TS: at,
				Values: map[string]float64{MetricUp: 1, engine.MetricCommits: float64(i * 10 * (n + 1)), engine.MetricConnections: float64(n)}})
		}
		batch = append(batch, store.Sample{DatastoreID: f.ds.ID, Kind: store.SampleDatabase, Key: "shop", IP: "127.0.0.1", TS: at,
			Values: map[string]float64{engine.MetricSizeBytes: float64(1000 + i)}})
	}
	if err := f.st.InsertSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	end := start.Add(40 * time.Minute)
	series, step, err := f.svc.Metrics(ctx, f.ds.ID, false, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if step != 10 {
		t.Fatalf("step %d, want the interval", step)
	}
	master := series["commits_per_second"][f.insts[0].Hostname]
	replica := series["commits_per_second"][f.insts[1].Hostname]
	// 30 samples in range; each has the one before it (the first one in the lookback).
	if len(master.Values) != 30 || master.Values[0] != 1 || replica.Values[0] != 2 || master.IP != "127.0.0.1" {
		t.Fatalf("commits_per_second: %+v / %+v", master, replica)
	}
	if ts := master.Timestamps[0]; ts != float64(start.Add(5*time.Second).Unix()) {
		t.Fatalf("first point at %v, want %v", ts, start.Add(5*time.Second).Unix())
	}
	if up := series[MetricUp][f.insts[0].Hostname]; len(up.Values) != 30 {
		t.Fatalf("up: %d points (the sample before the range must not show)", len(up.Values))
	}
	if _, ok := series[engine.MetricSizeBytes]; ok {
		t.Fatal("database metrics in the instance answer")
	}
	dbs, _, err := f.svc.Metrics(ctx, f.ds.ID, true, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if s := dbs[engine.MetricSizeBytes]["shop"]; len(s.Values) != 30 || s.Values[29] != 1030 {
		t.Fatalf("shop size: %+v", s)
	}

	// A range of 31 days is downsampled to at most maxPoints.
	long, step, err := f.svc.Metrics(ctx, f.ds.ID, false, f.now.Add(-31*24*time.Hour), f.now)
	if err != nil {
		t.Fatal(err)
	}
	got := long["commits_per_second"][f.insts[0].Hostname]
	if step <= 10 || len(got.Values) == 0 || len(got.Values) > 2 || math.Abs(got.Values[0]-1) > 1e-9 {
		t.Fatalf("downsampled: step %d, %+v", step, got)
	}
	if int64(got.Timestamps[0])%int64(step) != 0 {
		t.Fatalf("bucket at %v is not aligned to the step %d", got.Timestamps[0], step)
	}
}
