package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestProjectsAreIsolated builds one resource of every type in project A
// and checks that project B can neither see, count, change nor delete any
// of them: every answer is exactly what an unknown ID gets.
func TestProjectsAreIsolated(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	w := build(t, e)
	items := []struct{ kind, path, listKey string }{
		{"datastore", "/v1/datastores/" + w.pg, "datastores"},
		{"user", "/v1/users/" + w.user, "users"},
		{"database", "/v1/databases/" + w.db, "databases"},
		{"grant", "/v1/grants/" + w.grant, "grants"},
		{"extension", "/v1/extensions/" + w.ext, "extensions"},
		{"slot", "/v1/logical-replication-slots/" + w.slot, "logical-replication-slots"},
		{"topic", "/v1/topics/" + w.topic, "topics"},
		{"acl", "/v1/acls/" + w.acl, "acls"},
		{"token", "/v1/prometheus-metrics-tokens/" + w.token, "prometheus-metrics-tokens"},
		{"action", "/v1/actions/" + w.action, "actions"},
	}
	for _, it := range items {
		t.Run(it.kind, func(t *testing.T) {
			if r := e.Do(at.TokenA, http.MethodGet, it.path, nil); r.Status != http.StatusOK {
				t.Fatalf("owner cannot read it: %d", r.Status)
			}
			list := strings.SplitN(strings.TrimPrefix(it.path, "/v1/"), "/", 2)[0]
			r := e.Do(at.TokenB, http.MethodGet, "/v1/"+list, nil)
			if n := len(r.Get(it.listKey).([]any)); n != 0 {
				t.Errorf("project B lists %d of A's %s", n, it.listKey)
			}
			// Filtering by A's project ID gives B nothing either.
			r = e.Do(at.TokenB, http.MethodGet, "/v1/"+list+"?project_id="+at.ProjectA, nil)
			if r.Status == http.StatusOK && len(r.Get(it.listKey).([]any)) != 0 {
				t.Errorf("project B sees A's %s by filtering on A's project", it.listKey)
			}
			unknown := it.path[:strings.LastIndex(it.path, "/")+1] + "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				if it.kind == "action" && m == http.MethodDelete {
					continue
				}
				other := e.Do(at.TokenB, m, it.path, nil)
				none := e.Do(at.TokenB, m, unknown, nil)
				if other.Status != http.StatusNotFound || none.Status != http.StatusNotFound {
					t.Errorf("%s by B: %d (unknown ID: %d), want 404 for both", m, other.Status, none.Status)
				}
				if strings.ReplaceAll(string(other.Body), it.path[strings.LastIndex(it.path, "/")+1:], "ID") !=
					strings.ReplaceAll(string(none.Body), "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "ID") {
					t.Errorf("%s by B answers differently from an unknown ID:\n%s\n%s", m, other.Body, none.Body)
				}
			}
		})
	}
	// Updates and references across projects.
	updates := []struct {
		method, path string
		body         any
	}{
		{"PUT", "/v1/datastores/" + w.pg, map[string]any{"datastore": map[string]any{"name": "stolen"}}},
		{"PUT", "/v1/datastores/" + w.pg + "/config", map[string]any{"config": map[string]any{"work_mem": 1024}}},
		{"PUT", "/v1/datastores/" + w.pg + "/firewall", map[string]any{"firewall": map[string]any{"ips": []string{}}}},
		{"POST", "/v1/datastores/" + w.pg + "/resize", map[string]any{"resize": map[string]any{"node_count": 2}}},
		{"PUT", "/v1/datastores/" + w.pg + "/protection", map[string]any{"protection": true}},
		{"PUT", "/v1/users/" + w.user, map[string]any{"user": map[string]any{"password": "Stolen-123"}}},
		{"PUT", "/v1/databases/" + w.db, map[string]any{"database": map[string]any{"owner_id": w.user}}},
		{"PUT", "/v1/topics/" + w.topic, map[string]any{"topic": map[string]any{"partitions": 9}}},
		{"PUT", "/v1/acls/" + w.acl, map[string]any{"acl": map[string]any{"allow_read": false, "allow_write": true}}},
		{"PUT", "/v1/prometheus-metrics-tokens/" + w.token, map[string]any{"prometheus-metrics-token": map[string]any{"name": "x"}}},
		{"GET", "/v1/datastores/" + w.pg + "/metrics", nil},
		{"GET", "/v1/datastores/" + w.pg + "/logs", nil},
	}
	for _, u := range updates {
		if r := e.Do(at.TokenB, u.method, u.path, u.body); r.Status != http.StatusNotFound {
			t.Errorf("B: %s %s = %d, want 404: %s", u.method, u.path, r.Status, r.Body)
		}
	}
	refs := []struct {
		path string
		body any
	}{
		{"/v1/users", map[string]any{"user": map[string]any{"datastore_id": w.pg, "name": "mallory", "password": "Secret-123"}}},
		{"/v1/databases", map[string]any{"database": map[string]any{"datastore_id": w.pg, "name": "mal"}}},
		{"/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": w.pg, "database_id": w.db, "user_id": w.user}}},
		{"/v1/topics", map[string]any{"topic": map[string]any{"datastore_id": w.kafka, "name": "mal", "partitions": 1}}},
		{"/v1/floating-ips", map[string]any{"floating_ip": map[string]any{"instance_id": w.ins}}},
		{"/v1/datastores", map[string]any{"datastore": map[string]any{"name": "x", "type_id": w.typ, "subnet_id": w.pg, "node_count": 1,
			"flavor": map[string]any{"vcpus": 1, "ram": 1024, "disk": 5}, "restore": map[string]any{"datastore_id": w.pg}}}},
	}
	for _, rf := range refs {
		if r := e.Do(at.TokenB, http.MethodPost, rf.path, rf.body); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "no ") {
			t.Errorf("B referencing A's objects in POST %s: %d %s, want 400 'no such'", rf.path, r.Status, r.Body)
		}
	}
	// A project ID in a body must be the token's.
	body := e.DatastoreBody("postgresql", "x", 1)
	body["datastore"].(map[string]any)["project_id"] = at.ProjectA
	if r := e.Do(at.TokenB, http.MethodPost, "/v1/datastores", body); r.Status != http.StatusForbidden {
		t.Errorf("B creating in A's project: %d, want 403", r.Status)
	}
	// Nothing of A changed.
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+w.pg, nil); r.Str("datastore.name") != "pg" || r.Get("datastore.is_protected") != false {
		t.Errorf("A's datastore changed: %s", r.Body)
	}
	if r := e.Do(at.TokenB, http.MethodGet, "/v1/quotas", nil); r.Get("quotas.0.in_use_datastores") != float64(0) {
		t.Errorf("B's quota usage counts A's datastores: %s", r.Body)
	}
}

// TestConcurrentCreatesHonourQuota fires many creates at once against a
// quota of three datastores: exactly three are created and the others get
// a 400 naming the quota.
func TestConcurrentCreatesHonourQuota(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprintf("postgres_store=%v", pg), func(t *testing.T) {
			t.Parallel()
			e := at.Start(t, at.Options{Postgres: pg, Quotas: map[string]int64{"datastores": 3, "prometheus_metrics_tokens": 4}})
			body := e.DatastoreBody("postgresql", "q", 1)
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for i := 0; i < 12; i++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", body)
					mu.Lock()
					codes[r.Status]++
					mu.Unlock()
					if r.Status == http.StatusBadRequest && !strings.Contains(r.Str("error.message"), "quota datastores") {
						t.Errorf("refusal does not name the quota: %s", r.Body)
					}
				}()
				go func() {
					defer wg.Done()
					e.Do(at.TokenA, http.MethodPost, "/v1/prometheus-metrics-tokens", map[string]any{"prometheus-metrics-token": map[string]any{"name": "t"}})
				}()
			}
			wg.Wait()
			if codes[http.StatusCreated] != 3 || codes[http.StatusBadRequest] != 9 {
				t.Fatalf("statuses %v, want 3 created and 9 refused", codes)
			}
			r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores", nil)
			if n := len(r.Get("datastores").([]any)); n != 3 {
				t.Fatalf("%d datastores exist", n)
			}
			q := e.Do(at.TokenA, http.MethodGet, "/v1/quotas", nil)
			if q.Get("quotas.0.in_use_datastores") != float64(3) || q.Get("quotas.0.datastores") != float64(3) ||
				q.Get("quotas.0.in_use_prometheus_metrics_tokens") != float64(4) || q.Get("quotas.0.in_use_cores") != float64(3) ||
				q.Get("quotas.0.in_use_ram") != float64(3*1024) {
				t.Fatalf("quotas do not equal what exists: %s", q.Body)
			}
		})
	}
}
