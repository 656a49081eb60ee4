package kafka

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestResolveConfig(t *testing.T) {
	t.Parallel()
	s, err := resolveConfig(map[string]any{"message.max.bytes": float64(2048), "log.retention.ms": "60000", "log.retention.check.interval.ms": float64(5000)})
	must(t, err)
	if s.brokerConfigs["message.max.bytes"] != "2048" || s.brokerConfigs["log.retention.ms"] != "60000" || s.retentionCheckMs != 5000 {
		t.Fatalf("resolved %+v", s)
	}
	if v, ok := s.brokerConfigs["offsets.retention.minutes"]; !ok || v != "" {
		t.Fatalf("an unset parameter must reset to its default, got %q (%v)", v, ok)
	}
	for _, bad := range []map[string]any{
		{"no.such.param": float64(1)},
		{"message.max.bytes": "big"},
		{"message.max.bytes": float64(1.5)},
		{"message.max.bytes": float64(10)},
		{"log.retention.ms": true},
		// 2^63 used to overflow to a negative retention; 1e30 is no int64.
		{"log.retention.ms": float64(1 << 63)},
		{"log.retention.ms": 1e30},
		{"log.retention.ms": "9223372036854775808"},
	} {
		if _, err := resolveConfig(bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("resolveConfig(%v) = %v, want ErrInvalid", bad, err)
		}
	}
	for _, p := range catalog().Parameters {
		if p.Name == "" || p.Type == "" || p.Default == nil {
			t.Errorf("incomplete parameter %+v", p)
		}
	}
}

func TestConfigIsApplied(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "big", Partitions: 1}))
	// Random bytes: producers compress batches, and the limit applies
	// to the batch on the wire.
	raw := make([]byte, 6144)
	_, _ = rand.Read(raw)
	large := base64.StdEncoding.EncodeToString(raw)

	c.Config = map[string]any{"message.max.bytes": float64(2048)}
	must(t, d.Ensure(ctx, c))
	if v := describedBrokerConfig(t, c, "message.max.bytes"); v != "2048" {
		t.Fatalf("message.max.bytes = %q, want 2048", v)
	}
	if err := produce(t, c, SuperUser, c.AdminPassword, "big", large); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("8 KiB record with message.max.bytes=2048: %v, want MESSAGE_TOO_LARGE", err)
	}
	// The setting survives a restart.
	must(t, d.Stop(ctx, c))
	must(t, d.Ensure(ctx, c))
	if v := describedBrokerConfig(t, c, "message.max.bytes"); v != "2048" {
		t.Fatalf("after restart message.max.bytes = %q, want 2048", v)
	}
	// Removing the key resets the default, without a restart.
	pid := d.PIDs(c, &c.Nodes[0])[0]
	c.Config = map[string]any{}
	must(t, d.Ensure(ctx, c))
	must(t, produce(t, c, SuperUser, c.AdminPassword, "big", large))
	if got := d.PIDs(c, &c.Nodes[0]); got[0] != pid {
		t.Fatalf("a config change restarted the broker")
	}

	c.Config = map[string]any{"auto.create.topics.enable": true}
	if err := d.Ensure(ctx, c); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("unknown parameter: %v, want ErrInvalid", err)
	}
}

func TestRetentionIsEnforced(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "short", Partitions: 1}))
	must(t, produce(t, c, SuperUser, c.AdminPassword, "short", "old-1", "old-2"))
	c.Config = map[string]any{"log.retention.ms": float64(1), "log.retention.check.interval.ms": float64(1000)}
	must(t, d.Ensure(ctx, c))

	cl := client(t, c, SuperUser, c.AdminPassword)
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(20 * time.Second)
	for {
		offs, err := adm.ListStartOffsets(ctx, "short")
		must(t, err)
		o, _ := offs.Lookup("short", 0)
		if o.Offset >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("start offset still %d: retention did not remove old records", o.Offset)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// describedBrokerConfig reads a broker-wide dynamic config as the superuser.
func describedBrokerConfig(t *testing.T, c *engine.Cluster, name string) string {
	t.Helper()
	cl := client(t, c, SuperUser, c.AdminPassword)
	defer cl.Close()
	rcs, err := kadm.NewClient(cl).DescribeBrokerConfigs(enginetest.Ctx(t))
	must(t, err)
	for _, rc := range rcs {
		for _, cfg := range rc.Configs {
			if cfg.Key == name && cfg.Value != nil {
				return *cfg.Value
			}
		}
	}
	return ""
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	d := &Driver{}
	for _, tc := range []struct {
		cfg   map[string]any
		field string // "" = valid
	}{
		{map[string]any{"log.retention.ms": float64(86400000)}, ""},
		{map[string]any{"log.retention.ms": float64(-1)}, ""},
		{map[string]any{"log.retention.ms": 1e30}, "log.retention.ms"},
		{map[string]any{"log.retention.ms": float64(1 << 63)}, "log.retention.ms"},
		{map[string]any{"log.retention.check.interval.ms": float64(10)}, "log.retention.check.interval.ms"},
		{map[string]any{"message.max.bytes": float64(1 << 31)}, "message.max.bytes"},
		{map[string]any{"group.min.session.timeout.ms": float64(400000)}, "group.min.session.timeout.ms"},
		{map[string]any{"group.min.session.timeout.ms": float64(1000), "group.max.session.timeout.ms": float64(500)}, "group.max.session.timeout.ms"},
		{map[string]any{"group.min.session.timeout.ms": float64(1000), "group.max.session.timeout.ms": float64(5000)}, ""},
		{map[string]any{"no.such.param": float64(1)}, "no.such.param"},
	} {
		err := d.ValidateConfig(context.Background(), &engine.Cluster{Engine: engine.Kafka, Config: tc.cfg}, nil)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%v refused: %v", tc.cfg, err)
			}
			continue
		}
		if ie, ok := engine.AsInvalid(err); !ok || ie.Field != tc.field {
			t.Errorf("%v: got %v, want an InvalidError on %s", tc.cfg, err, tc.field)
		}
	}
	if err := d.ValidateName(engine.ObjectUser, SuperUser); err == nil {
		t.Error("the superuser's name accepted for a user")
	}
	if err := d.ValidateFirewall([]string{"fe80::1%eth0"}); err == nil {
		t.Error("a zoned address accepted")
	}
}
