package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	apidoc "github.com/dbaasd/dbaasd/api"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

// world is a project's resources of every type, for the surface tests.
type world struct {
	pg, kafka, redis                                 string
	user, db, grant, ext, slot, topic, acl, kuser    string
	token, availExt, flavor, param, typ, action, ins string
	user2, db2, hstore, cube, flavor2                string
}

// build creates one resource of every type in project A through the API,
// marking datastores ACTIVE (no engines run in these tests) and objects
// ACTIVE as the reconciler would.
func build(t *testing.T, e *at.Env) world {
	t.Helper()
	var w world
	w.pg = e.CreateDatastore(at.TokenA, "postgresql", "pg", 1)
	w.kafka = e.CreateDatastore(at.TokenA, "kafka", "kafka", 1)
	w.redis = e.CreateDatastore(at.TokenA, "redis", "redis", 1)
	for _, d := range []string{w.pg, w.kafka, w.redis} {
		e.MarkActive(d)
	}
	post := func(path string, body any) *at.Response {
		t.Helper()
		r := e.Do(at.TokenA, http.MethodPost, path, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		return r
	}
	w.user = post("/v1/users", map[string]any{"user": map[string]any{"datastore_id": w.pg, "name": "alice", "password": "Secret-123"}}).Str("user.id")
	w.db = post("/v1/databases", map[string]any{"database": map[string]any{"datastore_id": w.pg, "name": "app", "owner_id": w.user}}).Str("database.id")
	w.grant = post("/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": w.pg, "database_id": w.db, "user_id": w.user}}).Str("grant.id")
	exts := e.Do(at.TokenA, http.MethodGet, "/v1/available-extensions?name=pg_trgm", nil)
	w.availExt = exts.Str("available-extensions.0.id")
	if w.availExt == "" {
		t.Fatalf("pg_trgm is not an available extension: %s", exts.Body)
	}
	w.ext = post("/v1/extensions", map[string]any{"extension": map[string]any{"datastore_id": w.pg, "database_id": w.db, "available_extension_id": w.availExt}}).Str("extension.id")
	w.slot = post("/v1/logical-replication-slots", map[string]any{"logical-replication-slot": map[string]any{"datastore_id": w.pg, "database_id": w.db, "name": "slot_a"}}).Str("logical-replication-slot.id")
	w.kuser = post("/v1/users", map[string]any{"user": map[string]any{"datastore_id": w.kafka, "name": "producer", "password": "Secret-123"}}).Str("user.id")
	w.topic = post("/v1/topics", map[string]any{"topic": map[string]any{"datastore_id": w.kafka, "name": "events", "partitions": 1}}).Str("topic.id")
	w.acl = post("/v1/acls", map[string]any{"acl": map[string]any{"datastore_id": w.kafka, "user_id": w.kuser, "pattern": "events", "pattern_type": "literal", "allow_read": true, "allow_write": true}}).Str("acl.id")
	w.token = post("/v1/prometheus-metrics-tokens", map[string]any{"prometheus-metrics-token": map[string]any{"name": "prom"}}).Str("prometheus-metrics-token.id")
	w.user2 = post("/v1/users", map[string]any{"user": map[string]any{"datastore_id": w.pg, "name": "bob", "password": "Secret-123"}}).Str("user.id")
	w.db2 = post("/v1/databases", map[string]any{"database": map[string]any{"datastore_id": w.pg, "name": "other"}}).Str("database.id")
	w.hstore = e.Do(at.TokenA, http.MethodGet, "/v1/available-extensions?name=hstore", nil).Str("available-extensions.0.id")
	w.cube = e.Do(at.TokenA, http.MethodGet, "/v1/available-extensions?name=cube", nil).Str("available-extensions.0.id")
	w.flavor = e.Do(at.TokenA, http.MethodGet, "/v1/flavors", nil).Str("flavors.0.id")
	w.flavor2 = e.Do(at.TokenA, http.MethodGet, "/v1/flavors", nil).Str("flavors.1.id")
	w.typ = e.TypeID("postgresql")
	w.param = e.Do(at.TokenA, http.MethodGet, "/v1/configuration-parameters?name=work_mem&datastore_type_id="+w.typ, nil).Str("configuration-parameters.0.id")
	w.action = e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Str("actions.0.id")
	w.ins = e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+w.pg, nil).Str("datastore.instances.0.id")
	if w.param == "" || w.flavor == "" || w.action == "" || w.ins == "" || w.hstore == "" || w.cube == "" {
		t.Fatalf("catalog or actions missing: %+v", w)
	}
	activateObjects(t, e)
	return w
}

// activateObjects marks every pending object ACTIVE, as the reconciler would.
func activateObjects(t *testing.T, e *at.Env) {
	t.Helper()
	ctx := context.Background()
	err := e.D.Store.InTx(ctx, func(tx store.Tx) error {
		set := func(status *string) { *status = model.StatusActive }
		users, _ := tx.Users().List(ctx, store.Filter{})
		for i := range users {
			set(&users[i].Status)
			if err := tx.Users().Update(ctx, &users[i]); err != nil {
				return err
			}
		}
		dbs, _ := tx.Databases().List(ctx, store.Filter{})
		for i := range dbs {
			set(&dbs[i].Status)
			if err := tx.Databases().Update(ctx, &dbs[i]); err != nil {
				return err
			}
		}
		topics, _ := tx.Topics().List(ctx, store.Filter{})
		for i := range topics {
			set(&topics[i].Status)
			if err := tx.Topics().Update(ctx, &topics[i]); err != nil {
				return err
			}
		}
		acls, _ := tx.ACLs().List(ctx, store.Filter{})
		for i := range acls {
			set(&acls[i].Status)
			if err := tx.ACLs().Update(ctx, &acls[i]); err != nil {
				return err
			}
		}
		grants, _ := tx.Grants().List(ctx, store.Filter{})
		for i := range grants {
			set(&grants[i].Status)
			if err := tx.Grants().Update(ctx, &grants[i]); err != nil {
				return err
			}
		}
		exts, _ := tx.Extensions().List(ctx, store.Filter{})
		for i := range exts {
			set(&exts[i].Status)
			if err := tx.Extensions().Update(ctx, &exts[i]); err != nil {
				return err
			}
		}
		slots, _ := tx.Slots().List(ctx, store.Filter{})
		for i := range slots {
			set(&slots[i].Status)
			if err := tx.Slots().Update(ctx, &slots[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// opCase is one operation of the API with a request that succeeds.
type opCase struct {
	op     string
	method string
	path   string // may contain {id}: replaced by an unknown or malformed ID in the 404/400 checks
	id     string // the real ID for {id}
	body   any
	status int
	admin  bool // needs an admin token
	query  string
}

func (c opCase) url(id string) string {
	p := strings.ReplaceAll(c.path, "{id}", id)
	if c.query != "" {
		p += "?" + c.query
	}
	return p
}

func cases(e *at.Env, w world) []opCase {
	ds := func(suffix string) string { return "/v1/datastores/{id}" + suffix }
	return []opCase{
		{op: "createDatastore", method: "POST", path: "/v1/datastores", status: 201, body: e.DatastoreBody("postgresql", "new", 1)},
		{op: "listDatastores", method: "GET", path: "/v1/datastores", status: 200, query: "status=ACTIVE"},
		{op: "resizeDatastore", method: "POST", path: ds("/resize"), id: w.pg, status: 200, body: map[string]any{"resize": map[string]any{"flavor": map[string]any{"vcpus": 2, "ram": 2048, "disk": 6}}}},
		{op: "updateDatastoreFirewall", method: "PUT", path: ds("/firewall"), id: w.pg, status: 200, body: map[string]any{"firewall": map[string]any{"ips": []string{"10.0.0.1", "192.168.0.0/24"}}}},
		{op: "updateDatastorePooler", method: "PUT", path: ds("/pooler"), id: w.pg, status: 200, body: map[string]any{"pooler": map[string]any{"mode": "session", "size": 10}}},
		{op: "createFloatingIp", method: "POST", path: "/v1/floating-ips", status: 201, body: map[string]any{"floating_ip": map[string]any{"instance_id": w.ins}}},
		{op: "deleteFloatingIp", method: "DELETE", path: "/v1/floating-ips", status: 204, body: map[string]any{"floating_ip": map[string]any{"instance_id": w.ins}}},
		{op: "createUser", method: "POST", path: "/v1/users", status: 201, body: map[string]any{"user": map[string]any{"datastore_id": w.pg, "name": "carol", "password": "Secret-123"}}},
		{op: "createDatabase", method: "POST", path: "/v1/databases", status: 201, body: map[string]any{"database": map[string]any{"datastore_id": w.pg, "name": "third", "lc_collate": "C", "lc_ctype": "C"}}},
		{op: "createGrant", method: "POST", path: "/v1/grants", status: 201, body: map[string]any{"grant": map[string]any{"datastore_id": w.pg, "database_id": w.db2, "user_id": w.user2}}},
		{op: "createExtension", method: "POST", path: "/v1/extensions", status: 201, body: map[string]any{"extension": map[string]any{"datastore_id": w.pg, "database_id": w.db, "available_extension_id": w.hstore}}},
		{op: "createLogicalReplicationSlot", method: "POST", path: "/v1/logical-replication-slots", status: 201, body: map[string]any{"logical-replication-slot": map[string]any{"datastore_id": w.pg, "database_id": w.db, "name": "slot_b"}}},
		{op: "createTopic", method: "POST", path: "/v1/topics", status: 201, body: map[string]any{"topic": map[string]any{"datastore_id": w.kafka, "name": "events2", "partitions": 2}}},
		{op: "createAcl", method: "POST", path: "/v1/acls", status: 201, body: map[string]any{"acl": map[string]any{"datastore_id": w.kafka, "user_id": w.kuser, "pattern": "ev", "pattern_type": "prefixed", "allow_read": true, "allow_write": false}}},
		{op: "createPrometheusMetricsToken", method: "POST", path: "/v1/prometheus-metrics-tokens", status: 201, body: map[string]any{"prometheus-metrics-token": map[string]any{"name": "second"}}},
		{op: "countDatastores", method: "GET", path: "/v1/datastores/count", status: 200},
		{op: "getDatastore", method: "GET", path: ds(""), id: w.pg, status: 200},
		{op: "updateDatastore", method: "PUT", path: ds(""), id: w.pg, status: 200, body: map[string]any{"datastore": map[string]any{"name": "renamed"}}},
		{op: "updateDatastoreSecurityGroups", method: "PUT", path: ds("/security-groups"), id: w.pg, status: 200, body: map[string]any{"security_groups": []string{uuid.NewString()}}},
		{op: "updateDatastoreBackups", method: "PUT", path: ds("/backups"), id: w.pg, status: 200, body: map[string]any{"backups": map[string]any{"backup_retention_days": 3}}},
		{op: "enableDatastoreLogPlatform", method: "PUT", path: ds("/log-platform"), id: w.pg, status: 200, body: map[string]any{"log_platform": map[string]any{"log_group": "group-1"}}},
		{op: "disableDatastoreLogPlatform", method: "DELETE", path: ds("/log-platform"), id: w.pg, status: 204},
		{op: "setDatastoreProtection", method: "PUT", path: ds("/protection"), id: w.pg, status: 200, body: map[string]any{"protection": false}},
		{op: "getDatastoreMetrics", method: "GET", path: ds("/metrics"), id: w.pg, status: 200},
		{op: "getDatastoreDatabasesMetrics", method: "GET", path: ds("/metrics/databases"), id: w.pg, status: 200},
		{op: "getDatastoreLogs", method: "GET", path: ds("/logs"), id: w.pg, status: 200, query: "limit=10"},
		{op: "listUsers", method: "GET", path: "/v1/users", status: 200, query: "datastore_id=" + w.pg},
		{op: "getUser", method: "GET", path: "/v1/users/{id}", id: w.user, status: 200},
		{op: "listDatabases", method: "GET", path: "/v1/databases", status: 200},
		{op: "getDatabase", method: "GET", path: "/v1/databases/{id}", id: w.db, status: 200},
		{op: "listGrants", method: "GET", path: "/v1/grants", status: 200},
		{op: "getGrant", method: "GET", path: "/v1/grants/{id}", id: w.grant, status: 200},
		{op: "listExtensions", method: "GET", path: "/v1/extensions", status: 200},
		{op: "getExtension", method: "GET", path: "/v1/extensions/{id}", id: w.ext, status: 200},
		{op: "listLogicalReplicationSlots", method: "GET", path: "/v1/logical-replication-slots", status: 200},
		{op: "getLogicalReplicationSlot", method: "GET", path: "/v1/logical-replication-slots/{id}", id: w.slot, status: 200},
		{op: "listTopics", method: "GET", path: "/v1/topics", status: 200},
		{op: "getTopic", method: "GET", path: "/v1/topics/{id}", id: w.topic, status: 200},
		{op: "listAcls", method: "GET", path: "/v1/acls", status: 200},
		{op: "getAcl", method: "GET", path: "/v1/acls/{id}", id: w.acl, status: 200},
		{op: "listPrometheusMetricsTokens", method: "GET", path: "/v1/prometheus-metrics-tokens", status: 200},
		{op: "getPrometheusMetricsToken", method: "GET", path: "/v1/prometheus-metrics-tokens/{id}", id: w.token, status: 200},
		{op: "updatePrometheusMetricsToken", method: "PUT", path: "/v1/prometheus-metrics-tokens/{id}", id: w.token, status: 200, body: map[string]any{"prometheus-metrics-token": map[string]any{"name": "renamed"}}},
		{op: "listActions", method: "GET", path: "/v1/actions", status: 200},
		{op: "getAction", method: "GET", path: "/v1/actions/{id}", id: w.action, status: 200},
		{op: "listDatastoreTypes", method: "GET", path: "/v1/datastore-types", status: 200},
		{op: "getDatastoreType", method: "GET", path: "/v1/datastore-types/{id}", id: w.typ, status: 200},
		{op: "listFlavors", method: "GET", path: "/v1/flavors", status: 200, query: "fl_size=standard"},
		{op: "getFlavor", method: "GET", path: "/v1/flavors/{id}", id: w.flavor, status: 200},
		{op: "listConfigurationParameters", method: "GET", path: "/v1/configuration-parameters", status: 200, query: "ram=4096&vcpus=2&disk=32"},
		{op: "getConfigurationParameter", method: "GET", path: "/v1/configuration-parameters/{id}", id: w.param, status: 200},
		{op: "listAvailableExtensions", method: "GET", path: "/v1/available-extensions", status: 200},
		{op: "getAvailableExtension", method: "GET", path: "/v1/available-extensions/{id}", id: w.availExt, status: 200},
		{op: "listCapabilities", method: "GET", path: "/v1/capabilities", status: 200},
		{op: "getLimits", method: "GET", path: "/v1/limits", status: 200},
		{op: "getQuotas", method: "GET", path: "/v1/quotas", status: 200},
		// Changes that need the engines (they leave the datastore PENDING_UPDATE).
		{op: "updateUser", method: "PUT", path: "/v1/users/{id}", id: w.user, status: 200, body: map[string]any{"user": map[string]any{"password": "Another-123"}}},
		{op: "updateDatabase", method: "PUT", path: "/v1/databases/{id}", id: w.db, status: 200, body: map[string]any{"database": map[string]any{"owner_id": w.user}}},
		{op: "updateTopic", method: "PUT", path: "/v1/topics/{id}", id: w.topic, status: 200, body: map[string]any{"topic": map[string]any{"partitions": 3}}},
		{op: "updateAcl", method: "PUT", path: "/v1/acls/{id}", id: w.acl, status: 200, body: map[string]any{"acl": map[string]any{"allow_read": true, "allow_write": false}}},
		{op: "updateDatastorePassword", method: "PUT", path: ds("/password"), id: w.redis, status: 200, body: map[string]any{"password": map[string]any{"redis_password": "Another-Secret-2"}}},
		{op: "updateDatastoreConfig", method: "PUT", path: ds("/config"), id: w.pg, status: 200, body: map[string]any{"config": map[string]any{"work_mem": 8192}}},
	}
}

// adminCases are the deprecated catalog writes.
func adminCases(w world) []opCase {
	return []opCase{
		{op: "createFlavor", method: "POST", path: "/v1/flavors", status: 201, admin: true, body: map[string]any{"flavor": map[string]any{
			"name": "custom", "vcpus": 1, "ram": 1024, "disk": 10, "fl_size": "standard", "datastore_type_ids": []string{w.typ}}}},
		{op: "updateFlavor", method: "PUT", path: "/v1/flavors/{id}", id: w.flavor, status: 200, admin: true, body: map[string]any{"flavor": map[string]any{"description": "changed"}}},
		{op: "updateFlavorHost", method: "PUT", path: "/v1/flavors/{id}/host", id: w.flavor, status: 200, admin: true, body: map[string]any{"host": map[string]any{"line": "Large", "processor": "cpu", "total_count": 50}}},
		{op: "createConfigurationParameter", method: "POST", path: "/v1/configuration-parameters", status: 201, admin: true, body: map[string]any{"configuration-parameter": map[string]any{
			"datastore_type_id": w.typ, "name": "custom_param", "type": "int", "min_template": "1", "max_template": "ram"}}},
		{op: "createAvailableExtension", method: "POST", path: "/v1/available-extensions", status: 201, admin: true, body: map[string]any{"available-extension": map[string]any{
			"name": "custom_ext", "datastore_type_ids": []string{w.typ}}}},
		{op: "updateAvailableExtension", method: "PUT", path: "/v1/available-extensions/{id}", id: w.availExt, status: 200, admin: true, body: map[string]any{"available-extension": map[string]any{
			"datastore_type_ids": []string{w.typ}}}},
		{op: "deleteConfigurationParameter", method: "DELETE", path: "/v1/configuration-parameters/{id}", id: w.param, status: 204, admin: true},
	}
}

func TestEveryOperation(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	w := build(t, e)
	covered := map[string]bool{}
	all := append(cases(e, w), adminCases(w)...)
	for _, c := range all {
		token := at.TokenA
		if c.admin {
			token = at.TokenAdm
		}
		t.Run(c.op, func(t *testing.T) {
			// 401 without a token, and with an unknown one.
			for _, tok := range []string{"", "no-such-token"} {
				if r := e.Do(tok, c.method, c.url(c.id), c.body); r.Status != http.StatusUnauthorized {
					t.Errorf("token %q: status %d, want 401: %s", tok, r.Status, r.Body)
				}
			}
			if c.admin {
				if r := e.Do(at.TokenA, c.method, c.url(c.id), c.body); r.Status != http.StatusForbidden {
					t.Errorf("non-admin token: status %d, want 403: %s", r.Status, r.Body)
				}
			}
			if c.id != "" {
				if r := e.Do(token, c.method, c.url(uuid.NewString()), c.body); r.Status != http.StatusNotFound || r.Str("error.title") != "Not Found" {
					t.Errorf("unknown id: status %d, want 404 Not Found: %s", r.Status, r.Body)
				}
				if r := e.Do(token, c.method, c.url("not-a-uuid"), c.body); r.Status != http.StatusBadRequest {
					t.Errorf("malformed id: status %d, want 400: %s", r.Status, r.Body)
				}
			}
			if c.body != nil {
				if r := e.Do(token, c.method, c.url(c.id), `{"broken`); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "JSON") {
					t.Errorf("malformed JSON: status %d, want 400 naming JSON: %s", r.Status, r.Body)
				}
			} else if c.method == http.MethodGet && c.id == "" && c.op != "getLimits" && c.op != "getQuotas" && c.op != "listCapabilities" && c.op != "countDatastores" {
				if r := e.Do(token, c.method, c.path+"?id=not-a-uuid", nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "id") {
					t.Errorf("malformed filter: status %d, want 400 naming id: %s", r.Status, r.Body)
				}
			}
			r := e.Do(token, c.method, c.url(c.id), c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
		})
		covered[c.op] = true
		// No engines run here: record the datastores as converged again.
		for _, d := range []string{w.pg, w.kafka, w.redis} {
			e.MarkActive(d)
		}
		activateObjects(t, e)
	}
	// Deletes last: every delete answers 204 and then the object is gone or going.
	deletes := []opCase{
		{op: "deleteUser", path: "/v1/users/{id}", id: w.user2},
		{op: "deleteDatabase", path: "/v1/databases/{id}", id: w.db2},
		{op: "deleteDatastore", path: "/v1/datastores/{id}", id: w.redis},
		{op: "deleteFlavor", path: "/v1/flavors/{id}", id: w.flavor2, admin: true},
		{op: "deleteAvailableExtension", path: "/v1/available-extensions/{id}", id: w.cube, admin: true},
		{op: "deleteAcl", path: "/v1/acls/{id}", id: w.acl},
		{op: "deleteTopic", path: "/v1/topics/{id}", id: w.topic},
		{op: "deleteLogicalReplicationSlot", path: "/v1/logical-replication-slots/{id}", id: w.slot},
		{op: "deleteExtension", path: "/v1/extensions/{id}", id: w.ext},
		{op: "deleteGrant", path: "/v1/grants/{id}", id: w.grant},
		{op: "deletePrometheusMetricsToken", path: "/v1/prometheus-metrics-tokens/{id}", id: w.token},
	}
	for _, c := range deletes {
		token := at.TokenA
		if c.admin {
			token = at.TokenAdm
		}
		t.Run(c.op, func(t *testing.T) {
			if r := e.Do("", http.MethodDelete, c.url(c.id), nil); r.Status != http.StatusUnauthorized {
				t.Errorf("no token: %d", r.Status)
			}
			if c.admin {
				if r := e.Do(at.TokenA, http.MethodDelete, c.url(c.id), nil); r.Status != http.StatusForbidden {
					t.Errorf("non-admin token: %d, want 403", r.Status)
				}
			} else if r := e.Do(at.TokenB, http.MethodDelete, c.url(c.id), nil); r.Status != http.StatusNotFound {
				t.Errorf("other project: %d, want 404", r.Status)
			}
			if r := e.Do(token, http.MethodDelete, c.url("not-a-uuid"), nil); r.Status != http.StatusBadRequest {
				t.Errorf("malformed id: %d, want 400", r.Status)
			}
			if r := e.Do(token, http.MethodDelete, c.url(uuid.NewString()), nil); r.Status != http.StatusNotFound {
				t.Errorf("unknown id: %d, want 404", r.Status)
			}
			if r := e.Do(token, http.MethodDelete, c.url(c.id), nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
				t.Fatalf("delete: %d %s, want 204 with an empty body", r.Status, r.Body)
			}
		})
		covered[c.op] = true
	}
	// Every operation of the document is covered above.
	doc, err := apidoc.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(p).Operations() {
			if !covered[op.OperationID] {
				t.Errorf("operation %s is not covered by this test", op.OperationID)
			}
		}
	}
}

// TestErrorBodies checks the error body of requests that match no operation.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	tests := []struct {
		name, method, path string
		body               any
		status             int
		contains           string
	}{
		{"unknown route", "GET", "/v1/no-such-thing", nil, 404, "no route"},
		{"unknown route outside v1", "GET", "/nowhere", nil, 404, "no route"},
		{"wrong method", "PATCH", "/v1/datastores", nil, 405, "not allowed"},
		{"wrong method on an item", "POST", "/v1/users/" + uuid.NewString(), "{}", 405, "not allowed"},
		{"missing wrapper", "POST", "/v1/users", `{"name":"x"}`, 400, "user"},
		{"wrong type", "POST", "/v1/datastores", `{"datastore":{"name":1}}`, 400, "datastore.name"},
		{"out of bounds", "POST", "/v1/topics", `{"topic":{"datastore_id":"` + uuid.NewString() + `","name":"t","partitions":0}}`, 400, "topic.partitions"},
		{"bad enum", "POST", "/v1/acls", `{"acl":{"datastore_id":"` + uuid.NewString() + `","user_id":"` + uuid.NewString() + `","pattern":"t","pattern_type":"regex","allow_read":true,"allow_write":true}}`, 400, "acl.pattern_type"},
		{"empty body", "POST", "/v1/grants", "", 400, "body"},
		{"bad query type", "GET", "/v1/datastores?deleted=maybe", nil, 400, "deleted"},
		{"bad limit", "GET", "/v1/datastores/" + uuid.NewString() + "/logs?limit=0", nil, 400, "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(at.TokenA, tc.method, tc.path, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if !strings.Contains(r.Str("error.message"), tc.contains) {
				t.Errorf("message %q does not name %q", r.Str("error.message"), tc.contains)
			}
		})
	}
	r := e.DoHeaders(at.TokenA, "GET", "/v1/datastores", nil, map[string]string{"X-Request-Id": "my-request-42"})
	if r.Header.Get("X-Request-Id") != "my-request-42" {
		t.Errorf("X-Request-Id not echoed: %q", r.Header.Get("X-Request-Id"))
	}
	if r := e.Do(at.TokenA, "GET", "/v1/datastores", nil); r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id generated")
	}
	if r := e.Do(at.TokenA, "GET", "/v1/datastores", nil); string(r.Body) != "{\"datastores\":[]}\n" {
		t.Errorf("empty list is %q, want []", r.Body)
	}
}
