package redis

import (
	"slices"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	cat, err := newTestDriver(t).Catalog(enginetest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]engine.Parameter{}
	for _, p := range cat.Parameters {
		params[p.Name] = p
	}
	for _, name := range []string{"maxmemory-policy", "timeout", "tcp-keepalive", "notify-keyspace-events",
		"appendonly", "appendfsync", "hz", "lazyfree-lazy-eviction", "slowlog-log-slower-than",
		"slowlog-max-len", "latency-tracking", "maxclients", "databases", "maxmemory"} {
		if _, ok := params[name]; !ok {
			t.Errorf("catalog lacks %s", name)
		}
	}
	for _, name := range []string{"bind", "port", "dir", "dbfilename", "requirepass", "masterauth",
		"replicaof", "daemonize", "unixsocket", "protected-mode", "aclfile", "logfile", "pidfile"} {
		if _, ok := params[name]; ok {
			t.Errorf("catalog offers %s", name)
		}
	}
	mp := params["maxmemory-policy"]
	if mp.Type != "str" || !slices.Contains(mp.Choices, "allkeys-lru") || mp.Default != "noeviction" {
		t.Errorf("maxmemory-policy = %+v", mp)
	}
	if p := params["databases"]; !p.RestartRequired || p.Type != "int" || p.Default != int64(16) {
		t.Errorf("databases = %+v, want a restart-only int defaulting to 16", p)
	}
	if p := params["hz"]; p.RestartRequired || p.Type != "int" {
		t.Errorf("hz = %+v", p)
	}
	if p := params["appendonly"]; p.Type != "bool" || p.Default != false {
		t.Errorf("appendonly = %+v", p)
	}
	if p := params["loglevel"]; p.Default != "notice" {
		t.Errorf("loglevel default = %v, want Redis's notice", p.Default)
	}
	if p := params["maxmemory"]; p.MaxTemplate == "" || p.DefaultTemplate == "" || p.Default != nil {
		t.Errorf("maxmemory = %+v, want flavor templates", p)
	}
	for _, p := range cat.Parameters {
		if err := checkParamName(p.Name); err != nil {
			t.Errorf("catalog offers %s, which Ensure refuses: %v", p.Name, err)
		}
	}
}
