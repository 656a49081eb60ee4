package mysql

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestInfo(t *testing.T) {
	for _, mode := range []string{ModeNative, ModeSync} {
		d := newTestDriver(t, mode)
		info, err := d.Info(enginetest.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Engine != d.Name() || !strings.HasPrefix(info.Full, info.Version+".") || !strings.Contains(info.Full, "MariaDB") {
			t.Errorf("Info = %+v", info)
		}
	}
}

func TestCatalog(t *testing.T) {
	d := newTestDriver(t, ModeSync)
	cat, err := d.Catalog(enginetest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]engine.Parameter{}
	for _, p := range cat.Parameters {
		params[p.Name] = p
	}
	t.Logf("%d parameters", len(params))
	for _, name := range []string{"port", "bind_address", "datadir", "socket", "server_id", "log_bin", "gtid_strict_mode",
		"wsrep_on", "wsrep_provider_options", "rpl_semi_sync_master_enabled", "read_only", "skip_name_resolve",
		"init_file", "slow_query_log_file", "innodb_data_file_path", "ssl_cert", "secure_file_priv", "plugin_dir",
		"lower_case_table_names", "innodb_page_size", "version", "binlog_format", "general_log", "general_log_file",
		"log_output", "init_connect", "innodb_force_recovery", "binlog_row_image", "ft_stopword_file"} {
		if _, ok := params[name]; ok {
			t.Errorf("catalog offers %s, which dbaasd owns or is unsafe", name)
		}
	}
	check := func(name, typ string, restart bool) engine.Parameter {
		t.Helper()
		p, ok := params[name]
		if !ok {
			t.Fatalf("catalog lacks %s", name)
		}
		if p.Type != typ || p.RestartRequired != restart || !p.Changeable {
			t.Errorf("%s = %+v, want type %s, restart %v", name, p, typ, restart)
		}
		return p
	}
	bp := check("innodb_buffer_pool_size", "int", false)
	if bp.MaxTemplate == "" || bp.DefaultTemplate == "" || bp.Min == nil {
		t.Errorf("innodb_buffer_pool_size lacks templates or bounds: %+v", bp)
	}
	mc := check("max_connections", "int", false)
	if mc.MaxTemplate == "" {
		t.Errorf("max_connections lacks a template: %+v", mc)
	}
	mp := check("max_allowed_packet", "int", false)
	if mp.Unit != "bytes" || mp.Default != float64(16<<20) {
		t.Errorf("max_allowed_packet = %+v", mp)
	}
	check("innodb_log_buffer_size", "int", true)
	check("performance_schema", "bool", true)
	check("long_query_time", "float", false)
	check("log_bin_trust_function_creators", "bool", false)
	if p := check("innodb_default_row_format", "str", false); len(p.Choices) == 0 {
		t.Errorf("innodb_default_row_format has no choices: %+v", p)
	}

	// Cached: a new driver reads the cache file without a server.
	d2 := newTestDriver(t, ModeNative)
	cat2, err := d2.Catalog(enginetest.Ctx(t))
	if err != nil || len(cat2.Parameters) != len(cat.Parameters) {
		t.Errorf("cached catalog: %d parameters (err %v), want %d", len(cat2.Parameters), err, len(cat.Parameters))
	}
}

func TestAllowedParam(t *testing.T) {
	for name, want := range map[string]bool{
		"port": false, "wsrep_slave_threads": false, "log_bin_basename": false, "innodb_data_home_dir": false,
		"general_log_file": false, "tmpdir": false, "ssl_key": false, "plugin_dir": false, "secure_file_priv": false,
		"init_file": false, "log_output": false, "max_connections": true,
		"innodb_buffer_pool_size": true, "log_bin_trust_function_creators": true, "sql_mode": true,
	} {
		if got := allowedParam(name); got != want {
			t.Errorf("allowedParam(%s) = %v, want %v", name, got, want)
		}
	}
}
