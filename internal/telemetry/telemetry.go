// Package telemetry is what dbaasd tells about the clusters it runs and
// about itself: it samples every node of every live cluster on an interval
// (the engine drivers' engine.MetricsSampler, plus each server process's
// CPU and memory from /proc) into the store's time series with retention;
// answers the metrics and logs operations of the API (api.Telemetry);
// gives a project's latest samples to the Prometheus exporter
// (Collector, served by api.PrometheusExporter); ships new
// log lines of datastores with log export enabled to a sink (file or
// HTTP); and keeps dbaasd's own metrics (Self).
//
// It reads the store and the engines' files and never changes a cluster:
// samplers only query, log files are only read.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Config tunes telemetry.
type Config struct {
	// DataDir is dbaasd's data directory: the file sink writes
	// DataDir/log-export.
	DataDir string
	// Cluster returns the driver's view of a datastore (default: built
	// from the store in the reconciler's layout, with New's drivers).
	Cluster ClusterFunc
	// Interval is how often clusters are sampled (default 30s).
	Interval time.Duration
	// Retention is how long samples are kept (default 7 days).
	Retention time.Duration
	// SampleTimeout bounds the sampling of one cluster (default: the
	// interval, at most 10s).
	SampleTimeout time.Duration
	// Workers is how many clusters are sampled at once (default 4).
	Workers int
	// ExportInterval is how often new log lines are shipped (default 5s).
	ExportInterval time.Duration
	// ExportURL, when set, makes log export POST batches of JSON lines to
	// this URL instead of writing files.
	ExportURL string
	// Owner names this dbaasd in the leases that let one replica of
	// several sample and ship (default host name and process ID).
	Owner string
}

func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.SampleTimeout <= 0 {
		c.SampleTimeout = min(c.Interval, 10*time.Second)
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.ExportInterval <= 0 {
		c.ExportInterval = 5 * time.Second
	}
	if c.Owner == "" {
		h, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
}

// Service collects, keeps and serves telemetry.
type Service struct {
	store   store.Store
	drivers map[string]engine.Driver
	cfg     Config
	log     *slog.Logger
	self    *Self
	sink    Sink
	now     func() time.Time
	shipMu  sync.Mutex // one ShipOnce at a time
	leaseMu sync.Mutex
	leases  map[string]*store.Lease // of the periodic work, by name (see lead)
}

// New returns a telemetry service over the store and the engine drivers
// (used when cfg.Cluster is nil).
// self receives telemetry's own measurements (nil: none).
func New(st store.Store, drivers map[string]engine.Driver, cfg Config, self *Self, log *slog.Logger) *Service {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: st, drivers: drivers, cfg: cfg, log: log, self: self,
		now: func() time.Time { return time.Now().UTC() }, leases: map[string]*store.Lease{}}
	if s.cfg.Cluster == nil {
		s.cfg.Cluster = s.clusterFromStore
	}
	if cfg.ExportURL != "" {
		s.sink = &HTTPSink{URL: cfg.ExportURL}
	} else {
		s.sink = &FileSink{Dir: ExportDir(cfg.DataDir)}
	}
	return s
}

// Run samples clusters, prunes old samples and ships logs until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.collectLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		s.exportLoop(ctx)
	}()
	wg.Wait()
}
