package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// setStatus records a datastore's status as the reconciler would.
func setStatus(t *testing.T, e *at.Env, id, status string) {
	t.Helper()
	ctx := context.Background()
	err := e.D.Store.InTx(ctx, func(tx store.Tx) error {
		ds, err := tx.Datastores().GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		ds.Status = status
		return tx.Datastores().Update(ctx, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestErrorAcceptsEveryFix: a datastore in ERROR (or DOWN, DEGRADED)
// accepts every change that could repair it — configuration, firewall,
// password, pooler, resize, delete — instead of answering "must be
// ACTIVE" until it is deleted.
func TestErrorAcceptsEveryFix(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	pg := e.CreateDatastore(at.TokenA, "postgresql", "broken-pg", 1)
	rd := e.CreateDatastore(at.TokenA, "redis", "broken-redis", 1)
	e.MarkActive(pg)
	e.MarkActive(rd)
	for _, tc := range []struct {
		name, method, path string
		body               any
		ds                 string
		status             string
	}{
		{"config", http.MethodPut, "/v1/datastores/" + pg + "/config", map[string]any{"config": map[string]any{"work_mem": 8192}}, pg, model.StatusError},
		{"config reset", http.MethodPut, "/v1/datastores/" + pg + "/config", map[string]any{"config": map[string]any{"work_mem": nil}}, pg, model.StatusDown},
		{"firewall", http.MethodPut, "/v1/datastores/" + pg + "/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"10.0.0.1"}}}, pg, model.StatusError},
		{"pooler", http.MethodPut, "/v1/datastores/" + pg + "/pooler", map[string]any{"pooler": map[string]any{"mode": "session", "size": 10}}, pg, model.StatusDegraded},
		{"resize", http.MethodPost, "/v1/datastores/" + pg + "/resize", map[string]any{"resize": map[string]any{"disk": map[string]any{"size": 6}}}, pg, model.StatusError},
		{"password", http.MethodPut, "/v1/datastores/" + rd + "/password", map[string]any{"password": map[string]any{"redis_password": "New-Secret-2"}}, rd, model.StatusError},
	} {
		setStatus(t, e, tc.ds, tc.status)
		r := e.Do(at.TokenA, tc.method, tc.path, tc.body)
		if r.Status != http.StatusOK && r.Status != http.StatusAccepted {
			t.Errorf("%s on a datastore in %s: %d %s", tc.name, tc.status, r.Status, r.Body)
			continue
		}
		if got := r.Str("datastore.status"); got != model.StatusPendingUpdate && got != model.StatusResizing {
			t.Errorf("%s on a datastore in %s: status %s, want it under way", tc.name, tc.status, got)
		}
	}
	// A change already under way still refuses another.
	setStatus(t, e, pg, model.StatusPendingUpdate)
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+pg+"/config", map[string]any{"config": map[string]any{"work_mem": 4096}}); r.Status != http.StatusBadRequest {
		t.Errorf("config while PENDING_UPDATE: %d %s", r.Status, r.Body)
	}
	setStatus(t, e, pg, model.StatusError)
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/datastores/"+pg, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete in ERROR: %d %s", r.Status, r.Body)
	}
}

// TestRequestsEnginesRefuseAreRefused: values that used to be accepted and
// then fail in the engine answer 400 at once, naming the field.
func TestRequestsEnginesRefuseAreRefused(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	pg := e.CreateDatastore(at.TokenA, "postgresql", "names-pg", 1)
	my := e.CreateDatastore(at.TokenA, "mysql_native", "names-my", 1)
	kf := e.CreateDatastore(at.TokenA, "kafka", "names-kafka", 1)
	for _, id := range []string{pg, my, kf} {
		e.MarkActive(id)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"reserved role none", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": pg, "name": "none", "password": "Secret-pass-1"}}, "user.name"},
		{"reserved role public", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": pg, "name": "Public", "password": "Secret-pass-1"}}, "user.name"},
		{"reserved role current_user", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": pg, "name": "current_user", "password": "Secret-pass-1"}}, "user.name"},
		{"reserved role session_user", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": pg, "name": "session_user", "password": "Secret-pass-1"}}, "user.name"},
		{"reserved role current_role", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": pg, "name": "current_role", "password": "Secret-pass-1"}}, "user.name"},
		{"MySQL zoned IPv6 firewall", http.MethodPut, "/v1/datastores/" + my + "/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"fe80::1%lo"}}}, "firewall.ips"},
		{"MySQL IPv6 network firewall", http.MethodPut, "/v1/datastores/" + my + "/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"2001:db8::/64"}}}, "firewall.ips"},
		{"PostgreSQL zoned IPv6 firewall", http.MethodPut, "/v1/datastores/" + pg + "/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"fe80::1%lo"}}}, "firewall.ips"},
		{"retention overflowing a duration", http.MethodPut, "/v1/datastores/" + pg + "/backups", map[string]any{"backups": map[string]any{"backup_retention_days": 106752}}, "backup_retention_days"},
		{"retention at create", http.MethodPost, "/v1/datastores", withRetention(e.DatastoreBody("postgresql", "ret", 1), 200000), "backup_retention_days"},
		{"Kafka retention 1e30", http.MethodPut, "/v1/datastores/" + kf + "/config", map[string]any{"config": map[string]any{"log.retention.ms": 1e30}}, "config.log.retention.ms"},
		{"Kafka retention 2^63", http.MethodPut, "/v1/datastores/" + kf + "/config", map[string]any{"config": map[string]any{"log.retention.ms": float64(1 << 63)}}, "config.log.retention.ms"},
		{"Kafka superuser's name", http.MethodPost, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": kf, "name": "dbaasd-admin", "password": "Secret-pass-1"}}, "user.name"},
	} {
		before := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+pg, nil)
		r := e.Do(at.TokenA, tc.method, tc.path, tc.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), tc.field) {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.name, r.Status, r.Body, tc.field)
		}
		if after := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+pg, nil); after.Str("datastore.status") != before.Str("datastore.status") ||
			after.Str("datastore.updated_at") != before.Str("datastore.updated_at") {
			t.Errorf("%s: a refused request changed the datastore", tc.name)
		}
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/users", nil); len(r.Get("users").([]any)) != 0 {
		t.Errorf("refused users were recorded: %s", r.Body)
	}
}

func withRetention(body map[string]any, days int) map[string]any {
	body["datastore"].(map[string]any)["backup_retention_days"] = days
	return body
}

// TestCatalogListsOnlyAllowedParameters is the configuration side of
// tenant isolation, as an attacker would try it: parameters that name
// files, load libraries, run commands or choose where logs go are not in
// the catalog and cannot be set; extension_destdir in particular (with a
// directory a local user controls, it made CREATE EXTENSION run that
// user's SQL as the superuser).
func TestCatalogListsOnlyAllowedParameters(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	forbidden := map[string][]string{
		"postgresql": {"extension_destdir", "dynamic_library_path", "shared_preload_libraries", "session_preload_libraries",
			"local_preload_libraries", "archive_command", "log_directory", "log_destination", "ssl_cert_file", "ssl_key_file",
			"data_directory", "session_replication_role", "restore_command", "jit_provider", "lo_compat_privileges"},
		"mysql_native": {"plugin_dir", "secure_file_priv", "init_file", "general_log_file", "slow_query_log_file", "log_output",
			"init_connect", "datadir", "tmpdir", "ft_stopword_file", "innodb_force_recovery"},
		"redis": {"dir", "dbfilename", "logfile", "pidfile", "appenddirname", "loadmodule", "aclfile", "requirepass", "bind"},
	}
	for eng, names := range forbidden {
		typ := e.TypeID(eng)
		r := e.Do(at.TokenA, http.MethodGet, "/v1/configuration-parameters?datastore_type_id="+typ, nil)
		listed := map[string]bool{}
		for _, p := range r.Get("configuration-parameters").([]any) {
			listed[p.(map[string]any)["name"].(string)] = true
		}
		if len(listed) == 0 {
			t.Fatalf("%s: empty catalog: %s", eng, r.Body)
		}
		ds := e.CreateDatastore(at.TokenA, eng, "attack-"+eng, 1)
		e.MarkActive(ds)
		for _, name := range names {
			if listed[name] {
				t.Errorf("%s: the catalog offers %s", eng, name)
			}
			r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{name: "/tmp/evil"}})
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "config."+name) {
				t.Errorf("%s: PUT config %s=/tmp/evil: %d %s, want 400", eng, name, r.Status, r.Body)
			}
			got := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
			if _, set := got.Get("datastore.config").(map[string]any)[name]; set {
				t.Errorf("%s: %s recorded", eng, name)
			}
		}
		// The attack of the issue, at create time as well.
		body := e.DatastoreBody(eng, "attack-create-"+eng, 1)
		body["datastore"].(map[string]any)["config"] = map[string]any{names[0]: "/tmp/evil"}
		if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: create with %s: %d %s, want 400", eng, names[0], r.Status, r.Body)
		}
	}
	for _, a := range e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Get("actions").([]any) {
		if a.(map[string]any)["name"] == "datastore.update" {
			t.Errorf("a refused change recorded work for the engines: %v", a)
		}
	}
}
