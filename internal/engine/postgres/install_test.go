package postgres

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ out, major, full string }{
		{"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", "15", "15.18"},
		{"postgres (PostgreSQL) 17.2", "17", "17.2"},
		{"postgres (PostgreSQL) 18beta1", "18", "18"},
		{"postgres (PostgreSQL) 9.6.24", "9.6", "9.6.24"},
	} {
		major, full, err := parseVersion(tc.out)
		if err != nil || major != tc.major || full != tc.full {
			t.Errorf("parseVersion(%q) = %q, %q, %v; want %q, %q", tc.out, major, full, err, tc.major, tc.full)
		}
	}
	if _, _, err := parseVersion("mysqld Ver 8.0"); err == nil {
		t.Error("parseVersion of something else: want an error")
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	info, err := d.Info(enginetest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Engine != engine.PostgreSQL || info.Version == "" || !strings.HasPrefix(info.Full, info.Version+".") {
		t.Fatalf("Info = %+v", info)
	}
	if _, err := d.install(enginetest.Ctx(t), "1"); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("install of a missing version = %v", err)
	}
}
