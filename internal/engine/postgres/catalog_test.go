package postgres

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	ctx := enginetest.Ctx(t)
	cat, err := d.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]engine.Parameter{}
	for _, p := range cat.Parameters {
		params[p.Name] = p
	}
	wm := params["work_mem"]
	if wm.Type != "int" || wm.Unit != "kB" || wm.RestartRequired || !wm.Changeable || wm.Default != float64(4096) || wm.Min == nil || *wm.Min != 64 {
		t.Errorf("work_mem = %+v", wm)
	}
	sb := params["shared_buffers"]
	if sb.Type != "int" || sb.Unit != "8kB" || !sb.RestartRequired || !sb.Changeable || sb.DefaultTemplate == "" {
		t.Errorf("shared_buffers = %+v", sb)
	}
	if p := params["default_transaction_isolation"]; !p.Changeable || len(p.Choices) == 0 || p.Type != "str" {
		t.Errorf("default_transaction_isolation = %+v, want an enumeration", p)
	}
	if p := params["jit"]; p.Type != "bool" || !p.Changeable || p.Default != true {
		t.Errorf("jit = %+v", p)
	}
	if p := params["random_page_cost"]; p.Type != "float" || p.Default != 4.0 {
		t.Errorf("random_page_cost = %+v", p)
	}
	// An allow-list: what dbaasd manages, paths, libraries, commands, log
	// destinations and switches that disable safety checks are not offered.
	for _, name := range []string{"port", "listen_addresses", "ssl", "ssl_cert_file", "archive_command", "primary_conninfo",
		"lc_messages", "block_size", "server_version", "logging_collector", "unix_socket_directories", "zero_damaged_pages",
		"extension_destdir", "dynamic_library_path", "shared_preload_libraries", "session_preload_libraries",
		"local_preload_libraries", "log_directory", "log_destination", "wal_level", "session_replication_role",
		"lo_compat_privileges", "jit_provider", "data_directory", "ssl_key_file", "krb_server_keyfile"} {
		if p, ok := params[name]; ok {
			t.Errorf("%s offered (%+v); the catalog must list only what a tenant may set", name, p)
		}
	}
	for _, name := range []string{"TimeZone", "DateStyle", "IntervalStyle", "search_path", "application_name"} {
		if _, ok := params[name]; !ok {
			t.Errorf("%s not offered", name)
		}
	}
	for _, p := range cat.Parameters {
		if !p.Changeable || checkUserParam(p.Name) != nil {
			t.Errorf("%s offered but not settable", p.Name)
		}
	}
	exts := map[string][]string{}
	for _, e := range cat.Extensions {
		exts[e.Name] = e.Requires
	}
	if req, ok := exts["earthdistance"]; !ok || !slices.Equal(req, []string{"cube"}) {
		t.Errorf("earthdistance requires %v (present %v), want [cube]", req, ok)
	}
	if _, ok := exts["cube"]; !ok {
		t.Error("cube missing")
	}

	// Cached on disk beside the template: a new driver reads it instead of
	// starting a scratch server and writing it again.
	info, _ := d.Info(ctx)
	cache := filepath.Join(templateDir, "postgresql-"+info.Full+"-"+templateLayout, "catalog.json")
	before, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("catalog not cached beside the template: %v", err)
	}
	again, err := newDriver(t).Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(cache); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a new driver rebuilt the cached catalog (%v)", err)
	}
	if len(again.Parameters) != len(cat.Parameters) {
		t.Errorf("cached catalog has %d parameters, want %d", len(again.Parameters), len(cat.Parameters))
	}
}

// The catalog's templates must evaluate with expr-lang/expr to exactly
// what tuneFor gives the servers (in pg_settings units).
func TestTemplatesMatchTuning(t *testing.T) {
	t.Parallel()
	for _, f := range []engine.Flavor{{VCPUs: 1, RAMMB: 512}, {VCPUs: 1, RAMMB: 1024}, {VCPUs: 2, RAMMB: 3000},
		{VCPUs: 8, RAMMB: 32768}, {VCPUs: 64, RAMMB: 524288}} {
		env := map[string]any{"ram": f.RAMMB, "vcpus": f.VCPUs, "disk": 10}
		tu := tuneFor(f)
		want := map[string]int{
			"shared_buffers": tu.SharedBuffersKB / 8, "effective_cache_size": tu.EffectiveCacheSizeKB / 8,
			"max_connections": tu.MaxConnections, "work_mem": tu.WorkMemKB, "maintenance_work_mem": tu.MaintenanceWorkMemKB,
		}
		for name, tmpl := range paramTemplates {
			for kind, src := range map[string]string{"default": tmpl.def, "min": tmpl.min, "max": tmpl.max} {
				if src == "" {
					continue
				}
				out, err := expr.Eval(src, env)
				if err != nil {
					t.Fatalf("%s %s template %q: %v", name, kind, src, err)
				}
				v, ok := toFloat(out)
				if !ok {
					t.Fatalf("%s %s template gave %T", name, kind, out)
				}
				if kind == "default" && int(v) != want[name] {
					t.Errorf("flavor %+v: %s default template = %v, servers get %d", f, name, v, want[name])
				}
				if kind == "max" && v < float64(want[name]) {
					t.Errorf("flavor %+v: %s max %v below the default %d", f, name, v, want[name])
				}
			}
		}
	}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
