package mysql

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestValidateConfig sends values through a scratch MariaDB server: values
// with which it does not start, or that SET GLOBAL refuses, come back as
// an InvalidError naming the variable, in MariaDB's words.
func TestValidateConfig(t *testing.T) {
	d := newTestDriver(t, ModeNative)
	ctx := enginetest.Ctx(t)
	for _, tc := range []struct {
		name  string
		value any
		want  string // "" = valid; else a part of the message
	}{
		{"date_format", "%Y-%m-%d", ""},
		{"date_format", "plain-ok", "Wrong date/time format specifier"},
		{"optimizer_switch", "index_merge=off,mrr=on", ""},
		{"optimizer_switch", "bogus=on", "optimizer_switch"},
		{"ft_boolean_syntax", "+ -><()~*:''&|", ""},
		{"ft_boolean_syntax", "abc", "Invalid ft-boolean-syntax string"},
		{"sql_mode", "STRICT_TRANS_TABLES,NO_ZERO_DATE", ""},
		{"max_connections", float64(200), ""},
		{"long_query_time", 0.5, ""},
		{"plugin_dir", "/tmp/evil", "unknown or not configurable"},
	} {
		c := &engine.Cluster{Engine: d.Name(), Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 10},
			Config: map[string]any{tc.name: tc.value}}
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
}

func TestValidateNamesAndFirewall(t *testing.T) {
	d := New(Options{Mode: ModeNative})
	for name, ok := range map[string]bool{"app": true, "root": false, "mariadb.sys": false, "repl": false, "healthcheck": false, "HealthCheck": false, "replica": true, "a'b": false} {
		if err := d.ValidateName(engine.ObjectUser, name); (err == nil) != ok {
			t.Errorf("user %q: %v, want ok=%v", name, err, ok)
		}
	}
	for entry, ok := range map[string]bool{"10.0.0.1": true, "10.0.0.0/8": true, "2001:db8::1": true,
		"fe80::1%eth0": false, "2001:db8::/32": false} {
		if err := d.ValidateFirewall([]string{entry}); (err == nil) != ok {
			t.Errorf("firewall %q: %v, want ok=%v", entry, err, ok)
		}
	}
}
