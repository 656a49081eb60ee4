package telemetry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// pruneEvery is how often old samples are removed (at most).
const pruneEvery = time.Hour

// collectLoop samples every interval and prunes what outlived the
// retention, until ctx ends, when this replica holds the lease of the work.
// A round that takes longer than the interval delays the next one rather
// than overlapping it.
func (s *Service) collectLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	var pruned time.Time
	for {
		if s.lead(ctx, "collect", s.cfg.Interval) {
			if err := s.CollectOnce(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("metrics collection", "error", err)
			}
			if now := s.now(); now.Sub(pruned) >= min(pruneEvery, s.cfg.Retention/10) {
				pruned = now
				if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("prune samples", "error", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			s.resign(ctx, "collect", s.cfg.Interval)
			return
		case <-t.C:
		}
	}
}

// Prune removes the samples older than the retention.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	n, err := s.store.PruneSamples(ctx, s.now().Add(-s.cfg.Retention))
	if err == nil && n > 0 {
		s.log.Debug("pruned samples", "count", n)
	}
	return n, err
}

// CollectOnce samples every live datastore once, a few at a time, each
// within SampleTimeout, and stores the samples in one batch. A datastore
// that cannot be sampled gets up = 0 on its nodes; it never stops the
// others.
func (s *Service) CollectOnce(ctx context.Context) error {
	snap, err := s.store.DatastoreSnapshot(ctx)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		samples []store.Sample
		wg      sync.WaitGroup
	)
	// One pass over /proc serves every server of the round.
	procs := sync.OnceValues(proc.ReadProcesses)
	usage := func(pid int) (proc.Usage, error) {
		if ps, err := procs(); err == nil {
			if u, err := ps.TreeUsage(pid); err == nil {
				return u, nil
			}
		}
		return proc.TreeUsage(pid) // started after the snapshot
	}
	sem := make(chan struct{}, s.cfg.Workers)
	for i := range snap.Rows {
		ds := &snap.Rows[i] // shared: read only
		// Clusters still being created have no servers to ask yet, and
		// ones that failed (ERROR) have none dbaasd vouches for.
		if ds.Deleted || ds.Status == model.StatusPendingDelete || ds.Status == model.StatusError || ds.CreationFinishedAt == nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got := s.sampleDatastore(ctx, ds, usage)
			mu.Lock()
			samples = append(samples, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(samples) == 0 {
		return nil
	}
	// The batch is written even when ctx ended meanwhile: what was
	// measured is worth keeping.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.store.InsertSamples(wctx, samples)
}

// sampleDatastore measures one datastore; usage measures a server's
// processes.
func (s *Service) sampleDatastore(ctx context.Context, ds *model.Datastore, usage func(pid int) (proc.Usage, error)) []store.Sample {
	t, err := s.load(ctx, ds)
	if err != nil {
		s.log.Warn("metrics: load datastore", "datastore_id", ds.ID, "error", err)
		return nil
	}
	sampler, ok := t.drv.(engine.MetricsSampler)
	if !ok || len(t.cluster.Nodes) == 0 {
		return nil
	}
	at := s.now()
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SampleTimeout)
	start := time.Now()
	got, err := sampler.Sample(sctx, t.cluster)
	cancel()
	s.self.sampled(t.engine, err, time.Since(start))
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("metrics: sample", "datastore_id", ds.ID, "engine", t.engine, "error", err)
	}
	byNode := map[string]engine.NodeSample{}
	for _, n := range got.Nodes {
		byNode[n.NodeID] = n
	}
	var out []store.Sample
	for _, node := range t.cluster.Nodes {
		in := t.insts[node.ID]
		ns, ok := byNode[node.ID]
		v := map[string]float64{}
		for k, x := range ns.Values {
			v[k] = x
		}
		v[MetricUp] = 0
		if ok && ns.Up {
			v[MetricUp] = 1
		}
		if ok && ns.PID > 0 {
			if u, err := usage(ns.PID); err == nil {
				v[MetricCPUSeconds] = u.CPUSeconds
				v[MetricMemoryBytes] = float64(u.MemoryBytes)
			}
		}
		out = append(out, store.Sample{DatastoreID: ds.ID, Kind: store.SampleInstance, Key: in.ID, IP: in.Host, TS: at, Values: v})
	}
	for _, db := range got.Databases {
		out = append(out, store.Sample{DatastoreID: ds.ID, Kind: store.SampleDatabase, Key: db.Name,
			IP: t.insts[db.NodeID].Host, TS: at, Values: db.Values})
	}
	return out
}
