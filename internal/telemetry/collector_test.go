package telemetry

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/store"
)

func samplesOf(t *testing.T, st store.Store, dsID, kind string) []store.Sample {
	t.Helper()
	got, err := st.QuerySamples(context.Background(), dsID, kind, time.Unix(0, 0), time.Now().AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCollectOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Interval: time.Second, SampleTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	broken, brokenInsts := f.addDatastore(f.project, "broken")
	creating, _ := f.addDatastore(f.project, "creating")
	creating.CreationFinishedAt = nil
	if err := f.st.Datastores().Update(ctx, creating); err != nil {
		t.Fatal(err)
	}
	f.drv.sample = func(c *engine.Cluster) (engine.Sample, error) {
		switch c.ID {
		case broken.ID:
			return engine.Sample{}, errors.New("cannot reach anything")
		case creating.ID:
			t.Error("a datastore still being created was sampled")
		}
		if len(c.Nodes) != 2 || c.Nodes[0].Dir == "" || c.AdminPassword != "admin-secret" {
			t.Errorf("cluster handed to the driver: %+v", c)
		}
		return engine.Sample{
			Nodes: []engine.NodeSample{
				{NodeID: c.Nodes[0].ID, Up: true, PID: os.Getpid(), Values: map[string]float64{engine.MetricCommits: 42}},
				{NodeID: c.Nodes[1].ID, Up: false},
			},
			Databases: []engine.DatabaseSample{{Name: "shop", NodeID: c.Nodes[0].ID, Values: map[string]float64{engine.MetricSizeBytes: 8192}}},
		}, nil
	}
	if err := f.svc.CollectOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := samplesOf(t, f.st, f.ds.ID, store.SampleInstance)
	if len(got) != 2 {
		t.Fatalf("instance samples %+v", got)
	}
	byKey := map[string]store.Sample{}
	for _, s := range got {
		byKey[s.Key] = s
	}
	m, r := byKey[f.insts[0].ID], byKey[f.insts[1].ID]
	if m.Values[MetricUp] != 1 || m.Values[engine.MetricCommits] != 42 || m.Values[MetricMemoryBytes] <= 0 ||
		m.Values[MetricCPUSeconds] <= 0 || m.IP != "127.0.0.1" || !m.TS.Equal(f.now) {
		t.Fatalf("master sample %+v", m)
	}
	if r.Values[MetricUp] != 0 || len(r.Values) != 1 {
		t.Fatalf("replica that is down: %+v, want only up = 0", r)
	}
	dbs := samplesOf(t, f.st, f.ds.ID, store.SampleDatabase)
	if len(dbs) != 1 || dbs[0].Key != "shop" || dbs[0].Values[engine.MetricSizeBytes] != 8192 || dbs[0].IP != "127.0.0.1" {
		t.Fatalf("database samples %+v", dbs)
	}
	bad := samplesOf(t, f.st, broken.ID, store.SampleInstance)
	if len(bad) != len(brokenInsts) || bad[0].Values[MetricUp] != 0 || bad[1].Values[MetricUp] != 0 {
		t.Fatalf("a datastore whose sample failed: %+v, want up = 0 on every node", bad)
	}
}

func TestCollectOnceBoundsSlowClusters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Interval: time.Second, SampleTimeout: 200 * time.Millisecond, Workers: 1})
	other, _ := f.addDatastore(f.project, "fast")
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	f.drv.sampleCtx = func(ctx context.Context, c *engine.Cluster) (engine.Sample, error) {
		if c.ID == other.ID {
			return engine.Sample{Nodes: []engine.NodeSample{{NodeID: c.Nodes[0].ID, Up: true}}}, nil
		}
		// A server that never answers: the sampler gives up with its context.
		select {
		case <-ctx.Done():
			return engine.Sample{}, ctx.Err()
		case <-hung:
			return engine.Sample{}, nil
		}
	}
	start := time.Now()
	if err := f.svc.CollectOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("CollectOnce took %v with a sample timeout of 200ms", d)
	}
	if got := samplesOf(t, f.st, f.ds.ID, store.SampleInstance); len(got) != 2 || got[0].Values[MetricUp] != 0 {
		t.Fatalf("hung datastore: %+v, want up = 0", got)
	}
	if got := samplesOf(t, f.st, other.ID, store.SampleInstance); len(got) != 2 || got[0].Values[MetricUp]+got[1].Values[MetricUp] != 1 {
		t.Fatalf("fast datastore: %+v", got)
	}
}

func TestRunSamplesOnItsIntervalAndStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Interval: 50 * time.Millisecond, ExportInterval: time.Hour})
	f.svc.now = func() time.Time { return time.Now().UTC() }
	f.drv.sample = func(c *engine.Cluster) (engine.Sample, error) {
		return engine.Sample{Nodes: []engine.NodeSample{{NodeID: c.Nodes[0].ID, Up: true}}}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Run(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(samplesOf(t, f.st, f.ds.ID, store.SampleInstance)) < 6 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than three rounds in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestPruneKeepsTheRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{Retention: 24 * time.Hour})
	ctx := context.Background()
	var batch []store.Sample
	for _, age := range []time.Duration{0, 23 * time.Hour, 25 * time.Hour, 72 * time.Hour} {
		batch = append(batch, store.Sample{DatastoreID: f.ds.ID, Kind: store.SampleInstance, Key: f.insts[0].ID,
			TS: f.now.Add(-age), Values: map[string]float64{MetricUp: 1}})
	}
	if err := f.st.InsertSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.Prune(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v: want the two samples older than a day", n, err)
	}
	left := samplesOf(t, f.st, f.ds.ID, store.SampleInstance)
	if len(left) != 2 || left[0].TS.Before(f.now.Add(-24*time.Hour)) {
		t.Fatalf("left %+v", left)
	}
}
