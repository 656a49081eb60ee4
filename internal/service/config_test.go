package service

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/model"
)

func TestCheckValue(t *testing.T) {
	t.Parallel()
	intParam := &model.ConfigurationParameter{Name: "work_mem", Type: "int", MinTemplate: "64", MaxTemplate: "ram * 1024"}
	boolParam := &model.ConfigurationParameter{Name: "jit", Type: "bool"}
	enumParam := &model.ConfigurationParameter{Name: "level", Type: "str", Choices: []any{"minimal", "replica", "logical"}}
	floatParam := &model.ConfigurationParameter{Name: "ratio", Type: "float", MinTemplate: "0", MaxTemplate: "1"}
	badParam := &model.ConfigurationParameter{Name: "mode", Type: "str", InvalidValues: []any{"off"}}
	bigParam := &model.ConfigurationParameter{Name: "log.retention.ms", Type: "int", MinTemplate: "-1", MaxTemplate: catalog.Literal(float64(1 << 63))}
	env := &catalog.Env{RAM: 1024, VCPUs: 1, Disk: 10}
	tests := []struct {
		p       *model.ConfigurationParameter
		v       any
		wantErr string
	}{
		{intParam, float64(4096), ""},
		{intParam, "4096", ""},
		{intParam, float64(1024 * 1024), ""},
		{intParam, float64(1024*1024 + 1), "at most 1048576"},
		{intParam, float64(10), "at least 64"},
		{intParam, 4096.5, "integer"},
		{intParam, "lots", "integer"},
		{intParam, true, "integer"},
		{boolParam, true, ""},
		{boolParam, "on", ""},
		{boolParam, "maybe", "boolean"},
		{enumParam, "logical", ""},
		{enumParam, "LOGICAL", ""},
		{enumParam, "archive", "one of minimal, replica, logical"},
		{floatParam, 0.5, ""},
		{floatParam, 1.5, "at most 1"},
		{badParam, "off", "not allowed"},
		{badParam, "on", ""},
		{enumParam, []any{"x"}, "string"},
		// Integers beyond 64 bits overflow in every engine, whatever the
		// catalog's bound says (Kafka's Long.MAX_VALUE is 2^63 as a float).
		{bigParam, float64(1 << 62), ""},
		{bigParam, float64(1 << 63), "64-bit integer"},
		{bigParam, 1e30, "64-bit integer"},
		{bigParam, "1e30", "64-bit integer"},
		{bigParam, float64(-1), ""},
		{floatParam, "inf", "number"},
	}
	for _, tc := range tests {
		err := checkValue(tc.p, tc.v, env)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s=%v: unexpected error %v", tc.p.Name, tc.v, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s=%v: error %v, want one containing %q", tc.p.Name, tc.v, err, tc.wantErr)
		}
	}
}

func TestRedisPasswordRule(t *testing.T) {
	t.Parallel()
	for pw, ok := range map[string]bool{
		"Secret-123": true, "short1A": false, "alllowercase1": false, "NoDigitsHere": false,
		"With space1A": false, `Quote"1Aa`: false, "Ünïcode1Aa": false, strings.Repeat("aA1", 43): false,
	} {
		if err := CheckRedisPassword("redis_password", pw); (err == nil) != ok {
			t.Errorf("%q: error %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestParseFirewall(t *testing.T) {
	t.Parallel()
	got, err := ParseFirewall([]string{"10.0.0.1", " 192.168.1.7/24 ", "10.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1", "192.168.1.0/24", "::1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"300.1.1.1", "10.0.0.0/33", "host.example", ""} {
		if _, err := ParseFirewall([]string{bad}); err == nil || !strings.Contains(err.Error(), "firewall.ips") {
			t.Errorf("%q accepted or error does not name the field: %v", bad, err)
		}
	}
}

func TestConnectionAddresses(t *testing.T) {
	t.Parallel()
	d := &model.Datastore{Pooler: &model.Pooler{Mode: "transaction", Size: 5}, PoolerPort: 7000}
	insts := []model.Instance{
		{Role: model.RoleMaster, Host: "127.0.0.1", Port: 6000},
		{Role: model.RoleReplica, Host: "127.0.0.1", Port: 6001},
		{Role: model.RoleReplica, Host: "::1", Port: 6002},
		{Role: model.RoleReplica, Host: "127.0.0.1", Port: 6003, Status: model.StatusPendingDelete},
		{Role: model.RoleReplica},
	}
	got := Connection(d, insts)
	want := map[string]string{"master": "127.0.0.1:6000", "replica-1": "127.0.0.1:6001", "replica-2": "[::1]:6002", "pooler": "127.0.0.1:7000"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestIdentifierRules(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"app_user": true, "A-1": true, "_x": true, "1abc": false, "postgres": false, "PG_monitor": false,
		"dbaasd_admin": false, "has space": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false, "": false,
	} {
		if err := checkIdent("user.name", name); (err == nil) != ok {
			t.Errorf("%q: error %v, want ok=%v", name, err, ok)
		}
	}
}

func TestRetentionDaysBounds(t *testing.T) {
	t.Parallel()
	for days, ok := range map[int]bool{0: false, 1: true, 7: true, MaxBackupRetentionDays: true,
		MaxBackupRetentionDays + 1: false, 106752: false, -5: false} {
		if err := checkRetentionDays("backup_retention_days", days); (err == nil) != ok {
			t.Errorf("%d days: error %v, want ok=%v", days, err, ok)
		}
	}
}

func TestCatalogFlavorBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env *catalog.Env
		ok  bool
	}{
		{nil, true}, {&catalog.Env{RAM: 4096, VCPUs: 2, Disk: 20}, true}, {&catalog.Env{RAM: -1}, false},
		{&catalog.Env{VCPUs: 1 << 40}, false}, {&catalog.Env{Disk: maxEnv + 1}, false},
	} {
		if err := checkEnv(tc.env); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.env, err, tc.ok)
		}
	}
}
