package main

import (
	"testing"
	"time"
)

func TestBackupIntervalFlag(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(nil))
	if err != nil || cfg.BackupInterval != 24*time.Hour {
		t.Fatalf("default: %v, %v", cfg.BackupInterval, err)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"DBAAS_BACKUP_INTERVAL": "90s"}))
	if err != nil || cfg.BackupInterval != 90*time.Second {
		t.Fatalf("environment: %v, %v", cfg.BackupInterval, err)
	}
	cfg, err = parseConfig([]string{"--backup-interval", "6h"}, env(map[string]string{"DBAAS_BACKUP_INTERVAL": "90s"}))
	if err != nil || cfg.BackupInterval != 6*time.Hour {
		t.Fatalf("flag over environment: %v, %v", cfg.BackupInterval, err)
	}
	for _, v := range []string{"0s", "500ms", "soon"} {
		if _, err := parseConfig([]string{"--backup-interval", v}, env(nil)); err == nil {
			t.Errorf("--backup-interval %s: accepted", v)
		}
	}
}
