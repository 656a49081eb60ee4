package main

import (
	"testing"
	"time"
)

func TestTelemetryFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(nil))
	if err != nil || cfg.MetricsInterval != 30*time.Second || cfg.MetricsRetention != 168*time.Hour || cfg.LogExportURL != "" {
		t.Fatalf("defaults: %v %v %q, %v", cfg.MetricsInterval, cfg.MetricsRetention, cfg.LogExportURL, err)
	}
	cfg, err = parseConfig([]string{"--metrics-interval", "5s"}, env(map[string]string{
		"DBAAS_METRICS_INTERVAL": "1m", "DBAAS_METRICS_RETENTION": "24h", "DBAAS_LOG_EXPORT_URL": "http://127.0.0.1:9/logs",
	}))
	if err != nil || cfg.MetricsInterval != 5*time.Second || cfg.MetricsRetention != 24*time.Hour || cfg.LogExportURL != "http://127.0.0.1:9/logs" {
		t.Fatalf("flags and environment: %v %v %q, %v", cfg.MetricsInterval, cfg.MetricsRetention, cfg.LogExportURL, err)
	}
	for _, args := range [][]string{{"--metrics-interval", "0s"}, {"--metrics-interval", "1m", "--metrics-retention", "30s"}} {
		if _, err := parseConfig(args, env(nil)); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
