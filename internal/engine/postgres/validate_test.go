package postgres

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestValidateConfig sends values through PostgreSQL's own checks: the
// ones a server refuses, or with which it would not start, come back as
// an InvalidError naming the parameter in the server's words.
func TestValidateConfig(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	ctx := enginetest.Ctx(t)
	fl := engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 10}
	for _, tc := range []struct {
		name  string
		value any
		want  string // "" = valid; else a part of the message
	}{
		{"work_mem", float64(8192), ""},
		{"work_mem", "64MB", ""},
		{"work_mem", "lots", `invalid value for parameter "work_mem"`},
		{"max_connections", float64(50), ""},
		{"max_connections", float64(1), "superuser_reserved_connections (3) must be less than max_connections (1)"},
		{"application_name", "it's\ta name", ""},
		{"application_name", "two\nlines", "line break or NUL"},
		{"application_name", "nul\x00byte", "line break or NUL"},
		{"search_path", `"$user", public`, ""},
		{"search_path", "a'b", ""},
		{"search_path", "x\ny", "line break or NUL"},
		{"timezone", "Mars/Olympus_Mons", `invalid value for parameter "TimeZone"`},
		{"default_transaction_isolation", "sometimes", `invalid value for parameter "default_transaction_isolation"`},
		{"max_prepared_transactions", float64(10), ""},
		{"shared_buffers", "16MB", ""},
		{"extension_destdir", "/tmp/evil", "not one a tenant may change"},
		{"huge_pages", "try", ""},
	} {
		c := &engine.Cluster{Engine: engine.PostgreSQL, Flavor: fl, Config: map[string]any{tc.name: tc.value}}
		err := d.ValidateConfig(ctx, c, []string{tc.name})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s = %q refused: %v", tc.name, tc.value, err)
			}
			continue
		}
		ie, ok := engine.AsInvalid(err)
		if !ok || ie.Field != tc.name || !strings.Contains(ie.Message, tc.want) {
			t.Errorf("%s = %q: got %v; want an InvalidError on %s containing %q", tc.name, tc.value, err, tc.name, tc.want)
		}
	}
	// huge_pages = on starts only where the kernel has the huge pages.
	c := &engine.Cluster{Engine: engine.PostgreSQL, Flavor: fl, Config: map[string]any{"huge_pages": "on"}}
	err := d.ValidateConfig(ctx, c, []string{"huge_pages"})
	if free, _ := hugePagesFree(); free == 0 {
		if ie, ok := engine.AsInvalid(err); !ok || ie.Field != "huge_pages" || !strings.Contains(ie.Message, "huge pages") {
			t.Errorf("huge_pages = on without huge pages: got %v, want an InvalidError", err)
		}
	}
}

func TestValidateNamesAndFirewall(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	for name, ok := range map[string]bool{"app": true, "none": false, "NONE": false, "public": false, "current_user": false,
		"session_user": false, "current_role": false, "pg_monitor2": false, "postgres": false, "dbaasd_pgbouncer": false,
		strings.Repeat("a", 64): false} {
		if err := d.ValidateName(engine.ObjectUser, name); (err == nil) != ok {
			t.Errorf("user %q: %v, want ok=%v", name, err, ok)
		}
	}
	for entry, ok := range map[string]bool{"10.0.0.1": true, "10.0.0.0/8": true, "2001:db8::1": true, "2001:db8::/32": true,
		"fe80::1%eth0": false} {
		if err := d.ValidateFirewall([]string{entry}); (err == nil) != ok {
			t.Errorf("firewall %q: %v, want ok=%v", entry, err, ok)
		}
	}
}

// TestCheckSettings: a whole configuration given as settings (what the
// Kubernetes runtime hands its instances) goes through the same server
// checks, quoted as PostgreSQL reads it, the refusal naming the user's
// parameter.
func TestCheckSettings(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	ctx := enginetest.Ctx(t)
	for _, tc := range []struct {
		settings map[string]string
		changed  string
		want     string // "" = valid; else a part of the message
	}{
		{map[string]string{"application_name": `it's a "name"`, "work_mem": "64MB"}, "application_name", ""},
		{map[string]string{"max_connections": "1"}, "max_connections", "must be less than max_connections (1)"},
		{map[string]string{"wal_level": "minimal", "max_wal_senders": "10"}, "wal_level", "wal_level"},
		{map[string]string{"TimeZone": "Mars/Olympus_Mons"}, "TimeZone", `invalid value for parameter "TimeZone"`},
		{map[string]string{"work_mem = 1\nfsync": "off"}, "work_mem = 1\nfsync", "not a PostgreSQL parameter name"},
		{map[string]string{"include_if_exists": "/etc/shadow"}, "include_if_exists", "not a PostgreSQL parameter name"},
	} {
		config := map[string]any{tc.changed: tc.settings[tc.changed]}
		err := d.CheckSettings(ctx, "", tc.settings, []string{tc.changed}, config)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v refused: %v", tc.settings, err)
			}
			continue
		}
		ie, ok := engine.AsInvalid(err)
		if !ok || ie.Field != tc.changed || !strings.Contains(ie.Message, tc.want) {
			t.Errorf("%v: got %v; want an InvalidError on %q containing %q", tc.settings, err, tc.changed, tc.want)
		}
	}
}
