package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdentityUsersFromFlagsEnvironmentAndFile(t *testing.T) {
	t.Parallel()
	const p1, p2 = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	file := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(file, []byte("# team\ncarol:c-pw:"+p2+"@Team\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--user", "alice:a:pw:" + p1 + "+" + p2, "--users-file", file, "--token-ttl", "1h"},
		env(map[string]string{"DBAAS_USERS": "ignored:x:" + p1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 2 || cfg.Users[0].Name != "alice" || len(cfg.Users[0].Projects) != 2 ||
		cfg.Users[1].Domain != "Team" || cfg.TokenTTL != time.Hour {
		t.Fatalf("users %+v ttl %v", cfg.Users, cfg.TokenTTL)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"DBAAS_USERS": "alice:a:" + p1 + ", bob:b:" + p2 + "@Team"}))
	if err != nil || len(cfg.Users) != 2 || cfg.Users[1].Name != "bob" || cfg.TokenTTL != 24*time.Hour {
		t.Fatalf("DBAAS_USERS: %+v %v", cfg.Users, err)
	}
}

func TestBadUserNeverShowsThePassword(t *testing.T) {
	t.Parallel()
	_, err := parseConfig([]string{"--user", "alice:TopSecret:not-a-project"}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "--user") || strings.Contains(err.Error(), "TopSecret") {
		t.Fatalf("error %v", err)
	}
}
