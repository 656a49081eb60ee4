package main

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"--listen", "127.0.0.1:9999", "--token", "tok-one-long=0123456789abcdef0123456789abcdef:admin"},
		env(map[string]string{
			"DBAAS_LISTEN":         "0.0.0.0:1", // the flag wins
			"DBAAS_DATA_DIR":       "/var/lib/dbaasd",
			"DBAAS_TOKENS":         "ignored-because-flag=0123456789abcdef0123456789abcdef",
			"DBAAS_PROBE_INTERVAL": "5s",
			"DBAAS_QUOTA":          "datastores=3, cores=8",
			"DBAAS_PORT_RANGE":     "30000-30100",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.DataDir != "/var/lib/dbaasd" || cfg.ProbeInterval != 5*time.Second ||
		len(cfg.Tokens) != 1 || !cfg.Tokens[0].Admin || cfg.Quotas["datastores"] != 3 || cfg.Quotas["cores"] != 8 ||
		cfg.PortMin != 30000 || cfg.PortMax != 30100 || cfg.Region != "local" {
		t.Fatalf("config %+v", cfg)
	}
	if cfg.ReplicaID != "" {
		t.Fatalf("replica ID %q without --replica-id; the daemon chooses it", cfg.ReplicaID)
	}
	cfg, err = parseConfig([]string{"--replica-id", "dbaasd-a"}, env(nil))
	if err != nil || cfg.ReplicaID != "dbaasd-a" {
		t.Fatalf("--replica-id: %q %v", cfg.ReplicaID, err)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"DBAAS_REPLICA_ID": "dbaasd-b"}))
	if err != nil || cfg.ReplicaID != "dbaasd-b" {
		t.Fatalf("DBAAS_REPLICA_ID: %q %v", cfg.ReplicaID, err)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"DBAAS_TOKENS": "tok-aaaaaaaa=0123456789abcdef0123456789abcdef, tok-bbbbbbbb=fedcba9876543210fedcba9876543210"}))
	if err != nil || len(cfg.Tokens) != 2 {
		t.Fatalf("DBAAS_TOKENS: %+v %v", cfg.Tokens, err)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--port-range", "10-5"}, nil, "--port-range"},
		{[]string{"--quota", "nonsense=1"}, nil, "--quota"},
		{[]string{"--token", "x=y"}, nil, "--token"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{nil, map[string]string{"DBAAS_PROBE_INTERVAL": "soon"}, "DBAAS_PROBE_INTERVAL"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
	}
	for _, tc := range tests {
		_, err := parseConfig(tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want one naming %q", tc.args, tc.env, err, tc.want)
		}
	}
}
