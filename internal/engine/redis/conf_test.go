package redis

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestQuoteRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "with space", `q"uote`, `back\slash`, "new\nline", "tab\there", "\x01\xff", "it's"} {
		got := splitArgs("key " + quote(s))
		if len(got) != 2 || got[1] != s {
			t.Errorf("quote(%q) reads back as %q", s, got)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	for line, want := range map[string][]string{
		`sentinel monitor dbaasd 127.0.0.1 6379 2`: {"sentinel", "monitor", "dbaasd", "127.0.0.1", "6379", "2"},
		`# comment`:                nil,
		`save ""`:                  {"save", ""},
		`user default on 'a b' ~*`: {"user", "default", "on", "a b", "~*"},
		`requirepass "p\x41ss"`:    {"requirepass", "pAss"},
		"   ":                      nil,
	} {
		if got := splitArgs(line); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitArgs(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{{true, "yes"}, {false, "no"}, {100.0, "100"}, {-1.0, "-1"}, {0.5, "0.5"}, {"allkeys-lru", "allkeys-lru"}} {
		if got, err := formatValue(tc.in); err != nil || got != tc.want {
			t.Errorf("formatValue(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := formatValue(map[string]any{}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("formatValue(map) = %v, want ErrInvalid", err)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for pw, ok := range map[string]bool{
		"": false, "a b": false, `a"b`: false, "a'b": false, "é": false, "tab\t": false,
		"Good-Pass_123!@#$%^&*()": true, `back\slash`: true,
	} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestParamNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"maxmemory-policy": true, "hz": true, "port": false, "tls-port": false, "cluster-enabled": false,
		"requirepass": false, "Bad": false, "rename-command": false, "unixsocketperm": false,
		"dir": false, "dbfilename": false, "logfile": false, "loadmodule": false, "aclfile": false,
		"appenddirname": false, "include": false, "enable-debug-command": false,
	} {
		if err := checkParamName(name); (err == nil) != ok {
			t.Errorf("checkParamName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestServerConf(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{ID: "c1", Password: "secret", AdminPassword: "admin", Flavor: engine.Flavor{RAMMB: 1024},
		Config: map[string]any{"maxmemory-policy": "allkeys-lru", "appendonly": true}}
	master := engine.Node{ID: "m", Host: "127.0.0.1", Port: 7000, Dir: "/d/m"}
	replica := engine.Node{ID: "r", Host: "127.0.0.1", Port: 7001, Dir: "/d/r", FloatingIP: "10.1.1.1"}
	c.Nodes = []engine.Node{master, replica}
	sc, err := buildServerConf(c, &replica, &master)
	if err != nil {
		t.Fatal(err)
	}
	text := string(sc.render())
	for _, want := range []string{
		`bind "127.0.0.1 -10.1.1.1"`, `port "7001"`, `masteruser "dbaasd"`, `masterauth "` + internalSecret(c) + `"`,
		`user default "on" "` + passwordHash("secret") + `" "~*"`, `user dbaasd "on" "` + passwordHash(internalSecret(c)) + `"`,
		`maxmemory "805306368"`, `maxmemory-policy "allkeys-lru"`, `appendonly "yes"`,
		"replicaof 127.0.0.1 7000\n", `dir "/d/r/data"`, `logfile "/d/r/log/redis.log"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret\"") || strings.Contains(text, "requirepass") {
		t.Errorf("the tenant's password is in the config file:\n%s", text)
	}
	if strings.Count(text, "maxmemory-policy") != 1 {
		t.Errorf("user parameter duplicated:\n%s", text)
	}
	c.Firewall = []string{"10.0.0.0/8"}
	sc, _ = buildServerConf(c, &master, nil)
	if v, _ := sc.get("port"); v != "0" {
		t.Errorf("firewalled server listens on port %s, want only its socket", v)
	}
	if _, ok := sc.get("replicaof"); ok {
		t.Error("master has replicaof")
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	info, err := parseVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n")
	if err != nil || info.Version != "7.0" || info.Full != "7.0.15" || info.Engine != engine.Redis {
		t.Fatalf("parseVersion = %+v, %v", info, err)
	}
}

func TestEffectiveMaster(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{Nodes: []engine.Node{
		{ID: "a", Role: engine.RoleMaster, Host: "127.0.0.1", Port: 1},
		{ID: "b", Role: engine.RoleReplica, Host: "127.0.0.1", Port: 2},
		{ID: "c", Role: engine.RoleReplica, Host: "127.0.0.1", Port: 3},
	}}
	m, s := replInfo{role: "master"}, replInfo{role: "slave"}
	for name, tc := range map[string]struct {
		infos map[string]replInfo
		votes map[string]int
		want  string
	}{
		"new cluster":               {nil, nil, "a"},
		"sentinels promoted b":      {map[string]replInfo{"a": s, "b": m, "c": s}, map[string]int{"127.0.0.1:2": 3}, "b"},
		"old master back as master": {map[string]replInfo{"a": m, "b": m, "c": s}, map[string]int{"127.0.0.1:2": 2}, "b"},
		"stopped cluster":           {nil, map[string]int{"127.0.0.1:3": 2}, "c"},
		"a minority of sentinels":   {nil, map[string]int{"127.0.0.1:3": 1}, "a"},
		"vote for a removed node":   {map[string]replInfo{"b": s, "c": s}, map[string]int{"127.0.0.1:9": 3}, "a"},
		"only b acts as master":     {map[string]replInfo{"a": s, "b": m}, nil, "b"},
	} {
		if got := effectiveMaster(c, tc.infos, tc.votes); got.ID != tc.want {
			t.Errorf("%s: master %s, want %s", name, got.ID, tc.want)
		}
	}
}
