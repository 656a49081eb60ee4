package daemon

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	var empty Config
	empty.defaults()
	if empty.Logger == nil || empty.Banner != os.Stdout || empty.Region != "local" ||
		empty.ReplicaID != fmt.Sprintf("%s-%d", host, os.Getpid()) {
		t.Errorf("defaults of an empty config: logger %v, banner %v, region %q, replica %q",
			empty.Logger, empty.Banner, empty.Region, empty.ReplicaID)
	}
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	banner := &bytes.Buffer{}
	given := Config{Logger: logger, Banner: banner, Region: "ru-1", ReplicaID: "dbaasd-b"}
	given.defaults()
	if given.Logger != logger || given.Banner != banner || given.Region != "ru-1" || given.ReplicaID != "dbaasd-b" {
		t.Errorf("defaults replaced given values: %+v", given)
	}
}

// TestTelemetryUsesReplicaID: the telemetry service's leases carry the
// name given with --replica-id, like the reconciler's and the backups'.
func TestTelemetryUsesReplicaID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"dbaasd-a", ""} {
		cfg := Config{ReplicaID: id, DataDir: "/data"}
		cfg.defaults()
		d := &Daemon{cfg: cfg}
		got := d.telemetryConfig()
		if got.Owner != cfg.ReplicaID || got.Owner == "" || got.DataDir != "/data" {
			t.Errorf("--replica-id %q: telemetry owner %q, data dir %q; want owner %q", id, got.Owner, got.DataDir, cfg.ReplicaID)
		}
	}
}
