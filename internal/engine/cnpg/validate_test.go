package cnpg

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	d := &Driver{}
	for _, tc := range []struct {
		kind, name string
		refused    bool
	}{
		{engine.ObjectUser, "app_user", false},
		{engine.ObjectUser, "streaming_replica", true},
		{engine.ObjectUser, "Streaming_Replica", true},
		{engine.ObjectUser, "cnpg_pooler_pgbouncer", true},
		{engine.ObjectUser, "cnpg_anything", true},
		{engine.ObjectUser, "postgres", true},
		{engine.ObjectUser, "pg_monitor", true},
		{engine.ObjectUser, "cnpgx", false},
		{engine.ObjectDatabase, "cnpg_db", false},
		{engine.ObjectDatabase, "template1", true},
	} {
		err := d.ValidateName(tc.kind, tc.name)
		var inv *engine.InvalidError
		if refused := errors.As(err, &inv); refused != tc.refused || (err != nil && !refused) {
			t.Errorf("ValidateName(%s, %q) = %v; refused want %v", tc.kind, tc.name, err, tc.refused)
		}
	}
	if err := d.ValidateFirewall([]string{"fe80::1%eth0"}); err == nil {
		t.Error("a firewall entry with an IPv6 zone is taken")
	}
}

// TestValidateConfigAsksServer: with a PostgreSQL beside dbaasd, the
// parameters an instance would start with (the operator's defaults,
// dbaasd's tuning, the user's values) are loaded by the server binary,
// and a value or combination it refuses is an InvalidError on the user's
// parameter; without one, or when the check cannot run, the catalog's
// checks stand alone.
func TestValidateConfigAsksServer(t *testing.T) {
	t.Parallel()
	// The template lives where the engine's OS user can reach it, as in a
	// data dir.
	templates := t.TempDir()
	for _, dir := range []string{filepath.Dir(templates), templates} {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	pg := postgres.New(postgres.Options{TemplateDir: templates, Logger: slog.New(slog.DiscardHandler)})
	if _, err := pg.Info(context.Background()); err != nil {
		t.Fatalf("PostgreSQL is needed beside the tests: %v", err)
	}
	d := &Driver{opts: Options{SettingsCheck: pg}, log: slog.New(slog.DiscardHandler)}
	fl := engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 10}
	for _, tc := range []struct {
		name  string
		value any
		want  string // "" = valid; else a part of the message
	}{
		{"", nil, ""}, // the operator's defaults and dbaasd's tuning alone
		{"work_mem", "64MB", ""},
		{"application_name", "it's", ""},
		{"max_connections", float64(200), ""},
		{"timezone", "Mars/Olympus_Mons", `invalid value for parameter "TimeZone"`},
		{"max_connections", float64(2), "must be less than max_connections (2)"},
		{"wal_level", "minimal", "wal_level"},
		{"application_name", "two\nlines", "line break or NUL"},
	} {
		c := &engine.Cluster{Engine: engine.PostgreSQL, Version: "15", Flavor: fl, Config: map[string]any{}}
		var changed []string
		if tc.name != "" {
			c.Config[tc.name], changed = tc.value, []string{tc.name}
		}
		err := d.ValidateConfig(context.Background(), c, changed)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s = %v refused: %v", tc.name, tc.value, err)
			}
			continue
		}
		ie, ok := engine.AsInvalid(err)
		if !ok || ie.Field != tc.name || !strings.Contains(ie.Message, tc.want) {
			t.Errorf("%s = %v: got %v; want an InvalidError on %s containing %q", tc.name, tc.value, err, tc.name, tc.want)
		}
	}

	bad := func(version string) *engine.Cluster {
		return &engine.Cluster{Engine: engine.PostgreSQL, Version: version, Flavor: fl, Config: map[string]any{"timezone": "Mars/Olympus_Mons"}}
	}
	if err := d.ValidateConfig(context.Background(), bad("99"), []string{"timezone"}); err != nil {
		t.Errorf("no PostgreSQL 99 beside dbaasd: got %v, want the catalog's checks alone", err)
	}
	if err := (&Driver{}).ValidateConfig(context.Background(), bad("15"), []string{"timezone"}); err != nil {
		t.Errorf("without a SettingsCheck: got %v, want the catalog's checks alone", err)
	}
}
