package daemon

import (
	"context"
	"net/http"

	"github.com/dbaasd/dbaasd/internal/httpapi"
	"github.com/dbaasd/dbaasd/internal/reconcile"
	"github.com/dbaasd/dbaasd/internal/telemetry"
)

// setupTelemetry builds the metrics collector, the log reader and
// shipper, and dbaasd's own metrics; installs the latter in the
// reconciler; and adds the handlers for /metrics (dbaasd's own) and
// /prometheus (the projects' exporter) to mounts. It returns what the API
// handler needs.
func (d *Daemon) setupTelemetry(mounts map[string]http.Handler) (httpapi.Telemetry, httpapi.Observer) {
	self := telemetry.NewSelf()
	d.Telemetry = telemetry.New(d.Store, d.Drivers, d.telemetryConfig(), self, d.log.With("component", "telemetry"))
	d.Reconciler.SetMetrics(self)
	mounts["/metrics"] = self.Handler()
	mounts["/prometheus"] = httpapi.PrometheusExporter(d.Telemetry.Collector, d.Service.MetricsTokenProject)
	return d.Telemetry, self.ObserveRequest
}

// telemetryConfig is the telemetry service's configuration: its leases
// carry the same replica name as the reconciler's and the backups'.
func (d *Daemon) telemetryConfig() telemetry.Config {
	c := telemetry.Config{
		DataDir:   d.cfg.DataDir,
		Interval:  d.cfg.MetricsInterval,
		Retention: d.cfg.MetricsRetention,
		ExportURL: d.cfg.LogExportURL,
		Owner:     d.cfg.ReplicaID,
	}
	if d.Reconciler != nil {
		c.Cluster = d.Reconciler.ClusterOf
	}
	return c
}

// The telemetry package serves the API and the reconciler without
// importing either; these assertions keep it fitting both.
var (
	_ reconcile.Metrics = (*telemetry.Self)(nil)
	_ httpapi.Telemetry = (*telemetry.Service)(nil)
	_ httpapi.Observer  = (*telemetry.Self)(nil).ObserveRequest
)

// startTelemetry samples clusters and ships logs until ctx ends (not when
// dbaasd serves the API only); the channel closes once it stopped.
func (d *Daemon) startTelemetry(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if d.cfg.NoReconciler || d.Telemetry == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		d.Telemetry.Run(ctx)
	}()
	return done
}
