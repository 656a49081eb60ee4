package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// endpoint is one row of shared/spec/endpoints.md, with the /v1 prefix stripped
// (the document's server URL supplies it).
type endpoint struct {
	method, path, operationID, tag string
}

// endpoints is every row of the endpoints.md table, one entry per method.
var endpoints = []endpoint{
	{"GET", "/acls", "listAcls", "ACLs"},
	{"POST", "/acls", "createAcl", "ACLs"},
	{"GET", "/acls/{acl_id}", "getAcl", "ACLs"},
	{"PUT", "/acls/{acl_id}", "updateAcl", "ACLs"},
	{"DELETE", "/acls/{acl_id}", "deleteAcl", "ACLs"},

	{"GET", "/actions", "listActions", "Actions"},
	{"GET", "/actions/{action_id}", "getAction", "Actions"},

	{"GET", "/available-extensions", "listAvailableExtensions", "Available extensions"},
	{"GET", "/available-extensions/{available_extension_id}", "getAvailableExtension", "Available extensions"},
	{"POST", "/available-extensions", "createAvailableExtension", "Available extensions"},
	{"PUT", "/available-extensions/{available_extension_id}", "updateAvailableExtension", "Available extensions"},
	{"DELETE", "/available-extensions/{available_extension_id}", "deleteAvailableExtension", "Available extensions"},

	{"GET", "/capabilities", "listCapabilities", "Capabilities"},

	{"GET", "/configuration-parameters", "listConfigurationParameters", "Configuration parameters"},
	{"GET", "/configuration-parameters/{configuration_parameter_id}", "getConfigurationParameter", "Configuration parameters"},
	{"POST", "/configuration-parameters", "createConfigurationParameter", "Configuration parameters"},
	{"DELETE", "/configuration-parameters/{configuration_parameter_id}", "deleteConfigurationParameter", "Configuration parameters"},

	{"GET", "/databases", "listDatabases", "Databases"},
	{"POST", "/databases", "createDatabase", "Databases"},
	{"GET", "/databases/{database_id}", "getDatabase", "Databases"},
	{"PUT", "/databases/{database_id}", "updateDatabase", "Databases"},
	{"DELETE", "/databases/{database_id}", "deleteDatabase", "Databases"},

	{"GET", "/datastores", "listDatastores", "Datastores"},
	{"POST", "/datastores", "createDatastore", "Datastores"},
	{"GET", "/datastores/count", "countDatastores", "Datastores"},
	{"GET", "/datastores/{datastore_id}", "getDatastore", "Datastores"},
	{"PUT", "/datastores/{datastore_id}", "updateDatastore", "Datastores"},
	{"DELETE", "/datastores/{datastore_id}", "deleteDatastore", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/config", "updateDatastoreConfig", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/firewall", "updateDatastoreFirewall", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/pooler", "updateDatastorePooler", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/password", "updateDatastorePassword", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/security-groups", "updateDatastoreSecurityGroups", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/backups", "updateDatastoreBackups", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/log-platform", "enableDatastoreLogPlatform", "Datastores"},
	{"DELETE", "/datastores/{datastore_id}/log-platform", "disableDatastoreLogPlatform", "Datastores"},
	{"POST", "/datastores/{datastore_id}/resize", "resizeDatastore", "Datastores"},
	{"PUT", "/datastores/{datastore_id}/protection", "setDatastoreProtection", "Datastores"},
	{"GET", "/datastores/{datastore_id}/metrics", "getDatastoreMetrics", "Datastores"},
	{"GET", "/datastores/{datastore_id}/metrics/databases", "getDatastoreDatabasesMetrics", "Datastores"},
	{"GET", "/datastores/{datastore_id}/logs", "getDatastoreLogs", "Datastores"},

	{"GET", "/datastore-types", "listDatastoreTypes", "Datastore types"},
	{"GET", "/datastore-types/{datastore_type_id}", "getDatastoreType", "Datastore types"},

	{"GET", "/extensions", "listExtensions", "Extensions"},
	{"POST", "/extensions", "createExtension", "Extensions"},
	{"GET", "/extensions/{extension_id}", "getExtension", "Extensions"},
	{"DELETE", "/extensions/{extension_id}", "deleteExtension", "Extensions"},

	{"GET", "/flavors", "listFlavors", "Flavors"},
	{"GET", "/flavors/{flavor_id}", "getFlavor", "Flavors"},
	{"POST", "/flavors", "createFlavor", "Flavors"},
	{"PUT", "/flavors/{flavor_id}", "updateFlavor", "Flavors"},
	{"DELETE", "/flavors/{flavor_id}", "deleteFlavor", "Flavors"},
	{"PUT", "/flavors/{flavor_id}/host", "updateFlavorHost", "Flavors"},

	{"POST", "/floating-ips", "createFloatingIp", "Floating IPs"},
	{"DELETE", "/floating-ips", "deleteFloatingIp", "Floating IPs"},

	{"GET", "/grants", "listGrants", "Grants"},
	{"POST", "/grants", "createGrant", "Grants"},
	{"GET", "/grants/{grant_id}", "getGrant", "Grants"},
	{"DELETE", "/grants/{grant_id}", "deleteGrant", "Grants"},

	{"GET", "/limits", "getLimits", "Limits"},

	{"GET", "/logical-replication-slots", "listLogicalReplicationSlots", "Logical replication slots"},
	{"POST", "/logical-replication-slots", "createLogicalReplicationSlot", "Logical replication slots"},
	{"GET", "/logical-replication-slots/{logical_replication_slot_id}", "getLogicalReplicationSlot", "Logical replication slots"},
	{"DELETE", "/logical-replication-slots/{logical_replication_slot_id}", "deleteLogicalReplicationSlot", "Logical replication slots"},

	{"GET", "/prometheus-metrics-tokens", "listPrometheusMetricsTokens", "Prometheus metrics tokens"},
	{"POST", "/prometheus-metrics-tokens", "createPrometheusMetricsToken", "Prometheus metrics tokens"},
	{"GET", "/prometheus-metrics-tokens/{prometheus_metrics_token_id}", "getPrometheusMetricsToken", "Prometheus metrics tokens"},
	{"PUT", "/prometheus-metrics-tokens/{prometheus_metrics_token_id}", "updatePrometheusMetricsToken", "Prometheus metrics tokens"},
	{"DELETE", "/prometheus-metrics-tokens/{prometheus_metrics_token_id}", "deletePrometheusMetricsToken", "Prometheus metrics tokens"},

	{"GET", "/quotas", "getQuotas", "Quotas"},

	{"GET", "/users", "listUsers", "Users"},
	{"POST", "/users", "createUser", "Users"},
	{"GET", "/users/{user_id}", "getUser", "Users"},
	{"PUT", "/users/{user_id}", "updateUser", "Users"},
	{"DELETE", "/users/{user_id}", "deleteUser", "Users"},

	{"GET", "/topics", "listTopics", "Topics"},
	{"POST", "/topics", "createTopic", "Topics"},
	{"GET", "/topics/{topic_id}", "getTopic", "Topics"},
	{"PUT", "/topics/{topic_id}", "updateTopic", "Topics"},
	{"DELETE", "/topics/{topic_id}", "deleteTopic", "Topics"},
}

// deprecatedOps are the catalog-write operations that need an admin token.
var deprecatedOps = map[string]bool{
	"createAvailableExtension":     true,
	"updateAvailableExtension":     true,
	"deleteAvailableExtension":     true,
	"createConfigurationParameter": true,
	"deleteConfigurationParameter": true,
	"createFlavor":                 true,
	"updateFlavor":                 true,
	"deleteFlavor":                 true,
	"updateFlavorHost":             true,
}

// responseObjectSchemas are the schemas of objects the server returns; every
// property of each must be required.
var responseObjectSchemas = []string{
	"Acl", "Action", "AvailableExtension", "ConfigurationParameter", "Database",
	"Datastore", "DatastoreType", "Extension", "Flavor", "FlavorHost", "Grant",
	"LogicalReplicationSlot", "PrometheusMetricsToken", "User", "Topic", "Quota",
	"Limit", "LimitByEngine", "Capability", "CapabilityDatastoreTypes", "Instance",
	"DatastoreFlavor", "Firewall", "Pooler", "LogPlatform", "Metric", "Metrics",
	"LogEntry", "Error", "ErrorResponse", "DatastoreCount",
	"AclResponse", "AclListResponse", "ActionResponse", "ActionListResponse",
	"AvailableExtensionResponse", "AvailableExtensionListResponse", "CapabilityListResponse",
	"ConfigurationParameterResponse", "ConfigurationParameterListResponse",
	"DatabaseResponse", "DatabaseListResponse", "DatastoreResponse", "DatastoreListResponse",
	"DatastoreTypeResponse", "DatastoreTypeListResponse", "ExtensionResponse",
	"ExtensionListResponse", "FlavorResponse", "FlavorListResponse", "GrantResponse",
	"GrantListResponse", "LimitListResponse", "LogicalReplicationSlotResponse",
	"LogicalReplicationSlotListResponse", "PrometheusMetricsTokenResponse",
	"PrometheusMetricsTokenListResponse", "QuotaListResponse", "UserResponse",
	"UserListResponse", "TopicResponse", "TopicListResponse", "MetricsResponse",
	"LogEntryListResponse",
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return doc
}

func schemaNamed(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("components/schemas/%s is missing", name)
	}
	return ref.Value
}

// validate checks a decoded JSON value against a schema, with UUID formats
// enforced, as a request or as a response body.
func validate(s *openapi3.Schema, value any, request bool) error {
	opts := []openapi3.SchemaValidationOption{
		openapi3.MultiErrors(),
		openapi3.WithStringFormatValidator("uuid",
			openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122)),
	}
	if request {
		opts = append(opts, openapi3.VisitAsRequest())
	} else {
		opts = append(opts, openapi3.VisitAsResponse())
	}
	return s.VisitJSON(value, opts...)
}

func decode(t *testing.T, text string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("sample is not JSON: %v\n%s", err, text)
	}
	return v
}

func operationByID(t *testing.T, doc *openapi3.T, id string) (method, path string, op *openapi3.Operation) {
	t.Helper()
	for p, item := range doc.Paths.Map() {
		for m, o := range item.Operations() {
			if o.OperationID == id {
				return m, p, o
			}
		}
	}
	t.Fatalf("no operation %s", id)
	return "", "", nil
}

// (a) ------------------------------------------------------------------------

func TestSpecIsTheEmbeddedFile(t *testing.T) {
	onDisk, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(Spec) == 0 || !bytes.Equal(Spec, onDisk) {
		t.Fatalf("Spec (%d bytes) is not openapi.yaml (%d bytes)", len(Spec), len(onDisk))
	}
}

func TestLoadValidates(t *testing.T) {
	doc := loadDoc(t)
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Title == "" || doc.Info.Description == "" || doc.Info.Version != "1.0" {
		t.Errorf("info = %+v, want a title, a description and version 1.0", doc.Info)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/v1" {
		t.Errorf("servers = %v, want exactly [/v1]", doc.Servers)
	}
	scheme := doc.Components.SecuritySchemes["ApiKeyAuth"]
	if scheme == nil || scheme.Value.Type != "apiKey" || scheme.Value.In != "header" || scheme.Value.Name != "X-Auth-Token" {
		t.Errorf("security scheme ApiKeyAuth must be an apiKey in header X-Auth-Token, got %+v", scheme)
	}
	if len(doc.Security) != 1 {
		t.Fatalf("global security = %v, want [ApiKeyAuth]", doc.Security)
	}
	if _, ok := doc.Security[0]["ApiKeyAuth"]; !ok {
		t.Errorf("global security = %v, want [ApiKeyAuth]", doc.Security)
	}
	for path, item := range doc.Paths.Map() {
		if strings.HasPrefix(path, "/v1") {
			t.Errorf("path %s carries the /v1 prefix; the server URL adds it", path)
		}
		for method, op := range item.Operations() {
			if op.Security != nil {
				t.Errorf("%s %s overrides the global security", method, path)
			}
		}
	}
}

func TestLoadReturnsIndependentDocuments(t *testing.T) {
	a, b := loadDoc(t), loadDoc(t)
	a.Info.Title = "changed"
	if b.Info.Title == "changed" {
		t.Fatal("Load returned shared documents")
	}
}

// (b) ------------------------------------------------------------------------

func TestEveryEndpointIsAnOperation(t *testing.T) {
	doc := loadDoc(t)
	for _, e := range endpoints {
		item := doc.Paths.Value(e.path)
		if item == nil {
			t.Errorf("%s %s: path missing", e.method, e.path)
			continue
		}
		op := item.GetOperation(e.method)
		if op == nil {
			t.Errorf("%s %s: method missing", e.method, e.path)
			continue
		}
		if op.OperationID != e.operationID {
			t.Errorf("%s %s: operationId %q, want %q", e.method, e.path, op.OperationID, e.operationID)
		}
		if len(op.Tags) != 1 || op.Tags[0] != e.tag {
			t.Errorf("%s: tags %v, want [%s]", e.operationID, op.Tags, e.tag)
		}
		if strings.TrimSpace(op.Summary) == "" || strings.TrimSpace(op.Description) == "" {
			t.Errorf("%s: needs a summary and a description", e.operationID)
		}
	}
}

func TestNoOperationBeyondTheEndpoints(t *testing.T) {
	doc := loadDoc(t)
	want := map[string]bool{}
	for _, e := range endpoints {
		want[e.method+" "+e.path] = true
	}
	ids := map[string]string{}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if !want[method+" "+path] {
				t.Errorf("%s %s is not in endpoints.md", method, path)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s used by %s and %s %s", op.OperationID, prev, method, path)
			}
			ids[op.OperationID] = method + " " + path
		}
	}
	if n != len(endpoints) || n != 80 {
		t.Errorf("document has %d operations, the table %d, want 80", n, len(endpoints))
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	for _, e := range endpoints {
		if !tags[e.tag] {
			t.Errorf("tag %q is not declared in the document's tags", e.tag)
		}
	}
}

// (c) ------------------------------------------------------------------------

func TestStatusCodes(t *testing.T) {
	doc := loadDoc(t)
	for _, e := range endpoints {
		op := doc.Paths.Value(e.path).GetOperation(e.method)
		if op == nil {
			t.Errorf("%s missing", e.operationID)
			continue
		}
		for _, code := range []string{"400", "401", "403", "404"} {
			r := op.Responses.Value(code)
			if r == nil {
				t.Errorf("%s: no %s response", e.operationID, code)
				continue
			}
			mt := r.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/ErrorResponse" {
				t.Errorf("%s: %s response must be an ErrorResponse", e.operationID, code)
			}
		}
		var success []string
		for code := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				success = append(success, code)
			}
		}
		sort.Strings(success)
		if len(success) != 1 {
			t.Errorf("%s: success responses %v, want exactly one", e.operationID, success)
			continue
		}
		ok := op.Responses.Value(success[0]).Value
		switch {
		case strings.HasPrefix(e.operationID, "create"):
			if success[0] != "201" {
				t.Errorf("%s: create answers %s, want 201", e.operationID, success[0])
			}
			if e.operationID != "createFloatingIp" && ok.Content.Get("application/json") == nil {
				t.Errorf("%s: 201 must carry the created object", e.operationID)
			}
		case e.method == http.MethodDelete:
			if success[0] != "204" {
				t.Errorf("%s: delete answers %s, want 204", e.operationID, success[0])
			}
			if len(ok.Content) != 0 {
				t.Errorf("%s: 204 must have no body", e.operationID)
			}
		default:
			if success[0] != "200" {
				t.Errorf("%s: answers %s, want 200", e.operationID, success[0])
			}
			if ok.Content.Get("application/json") == nil {
				t.Errorf("%s: 200 must carry a JSON body", e.operationID)
			}
		}
		if op.RequestBody != nil && !op.RequestBody.Value.Required {
			t.Errorf("%s: its request body must be required", e.operationID)
		}
		if (e.method == http.MethodPost || e.method == http.MethodPut) && op.RequestBody == nil {
			t.Errorf("%s: %s without a request body", e.operationID, e.method)
		}
	}
}

func TestCreatesAndUpdatesAnswerTheWrappedObject(t *testing.T) {
	doc := loadDoc(t)
	cases := map[string]string{
		"createAcl": "AclResponse", "updateAcl": "AclResponse", "getAcl": "AclResponse",
		"createDatastore": "DatastoreResponse", "updateDatastoreBackups": "DatastoreResponse",
		"resizeDatastore": "DatastoreResponse", "setDatastoreProtection": "DatastoreResponse",
		"updateDatastoreConfig": "DatastoreResponse", "enableDatastoreLogPlatform": "DatastoreResponse",
		"createPrometheusMetricsToken": "PrometheusMetricsTokenResponse",
		"updateFlavorHost":             "FlavorResponse", "countDatastores": "DatastoreCount",
		"getDatastoreLogs": "LogEntryListResponse", "getDatastoreMetrics": "MetricsResponse",
		"getDatastoreDatabasesMetrics": "MetricsResponse", "getQuotas": "QuotaListResponse",
		"getLimits": "LimitListResponse", "listCapabilities": "CapabilityListResponse",
	}
	for id, want := range cases {
		_, _, op := operationByID(t, doc, id)
		var got string
		for code, r := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				got = r.Value.Content.Get("application/json").Schema.Ref
			}
		}
		if got != "#/components/schemas/"+want {
			t.Errorf("%s answers %s, want %s", id, got, want)
		}
	}
}

func TestDeprecatedCatalogWrites(t *testing.T) {
	doc := loadDoc(t)
	for _, e := range endpoints {
		op := doc.Paths.Value(e.path).GetOperation(e.method)
		if op.Deprecated != deprecatedOps[e.operationID] {
			t.Errorf("%s: deprecated = %v, want %v", e.operationID, op.Deprecated, deprecatedOps[e.operationID])
		}
		if op.Deprecated && !strings.Contains(op.Description, "admin token") {
			t.Errorf("%s: a deprecated operation must say it requires an admin token", e.operationID)
		}
	}
}

// (d) ------------------------------------------------------------------------

func checkAllRequired(t *testing.T, where string, s *openapi3.Schema) {
	t.Helper()
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for name := range s.Properties {
		if !required[name] {
			t.Errorf("%s: property %q is not required", where, name)
		}
	}
}

func TestResponseObjectsRequireEveryProperty(t *testing.T) {
	doc := loadDoc(t)
	for _, name := range responseObjectSchemas {
		s := schemaNamed(t, doc, name)
		if len(s.Properties) == 0 {
			t.Errorf("%s has no properties", name)
		}
		checkAllRequired(t, name, s)
	}
}

// TestEveryResponseSchemaRequiresEveryProperty walks every schema reachable from
// any response of any operation, so a new response object cannot slip through.
func TestEveryResponseSchemaRequiresEveryProperty(t *testing.T) {
	doc := loadDoc(t)
	seen := map[*openapi3.Schema]bool{}
	var walk func(where string, ref *openapi3.SchemaRef)
	walk = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		if ref.Ref != "" {
			where = ref.Ref
		}
		s := ref.Value
		seen[s] = true
		checkAllRequired(t, where, s)
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			walk(where+"."+n, s.Properties[n])
		}
		walk(where+"[]", s.Items)
		walk(where+"{}", s.AdditionalProperties.Schema)
		for _, sub := range append(append(append(openapi3.SchemaRefs{}, s.AllOf...), s.OneOf...), s.AnyOf...) {
			walk(where, sub)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					walk(method+" "+path+" "+code, mt.Schema)
				}
			}
		}
	}
	if len(seen) < len(responseObjectSchemas) {
		t.Errorf("walked only %d response schemas", len(seen))
	}
}

// TestRequestBodiesStayOpen: newer clients may send more fields, so no request
// schema may forbid additional properties.
func TestRequestBodiesStayOpen(t *testing.T) {
	doc := loadDoc(t)
	seen := map[*openapi3.Schema]bool{}
	var walk func(where string, ref *openapi3.SchemaRef)
	walk = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if h := s.AdditionalProperties.Has; h != nil && !*h {
			t.Errorf("%s: additionalProperties is false", where)
		}
		for n, p := range s.Properties {
			walk(where+"."+n, p)
		}
		walk(where+"[]", s.Items)
		for _, sub := range s.AllOf {
			walk(where, sub)
		}
	}
	for _, e := range endpoints {
		op := doc.Paths.Value(e.path).GetOperation(e.method)
		if op.RequestBody == nil {
			continue
		}
		mt := op.RequestBody.Value.Content.Get("application/json")
		if mt == nil {
			t.Errorf("%s: request body is not JSON", e.operationID)
			continue
		}
		walk(e.operationID, mt.Schema)
	}
}

// Query parameters ------------------------------------------------------------

func TestQueryParameters(t *testing.T) {
	doc := loadDoc(t)
	type param struct {
		name, typ, format string
		min               *float64
	}
	one := 1.0
	str := func(n string) param { return param{name: n, typ: "string"} }
	id := func(n string) param { return param{name: n, typ: "string", format: "uuid"} }
	boolean := func(n string) param { return param{name: n, typ: "boolean"} }
	positive := func(n string) param { return param{name: n, typ: "integer", min: &one} }
	datastoreFilters := []param{id("id"), str("project_id"), str("name"), str("status"), boolean("enabled"),
		id("type_id"), id("flavor_id"), id("subnet_id"), boolean("allow_restore"),
		boolean("is_maintenance"), boolean("is_protected"), boolean("deleted")}
	cases := map[string][]param{
		"listAcls":                     {id("id"), str("project_id"), id("datastore_id"), str("pattern"), str("pattern_type"), str("status"), id("user_id")},
		"listActions":                  {id("id"), str("name"), str("status"), str("project_id"), str("request_id"), id("datastore_id")},
		"listAvailableExtensions":      {id("id"), str("name"), id("datastore_type_id")},
		"listConfigurationParameters":  {id("id"), id("datastore_type_id"), str("name"), positive("ram"), positive("vcpus"), positive("disk")},
		"listDatabases":                {id("id"), str("project_id"), str("name"), id("datastore_id"), str("status")},
		"listDatastores":               datastoreFilters,
		"countDatastores":              datastoreFilters,
		"getDatastoreMetrics":          {str("start"), str("end")},
		"getDatastoreDatabasesMetrics": {str("start"), str("end")},
		"getDatastoreLogs":             {str("job"), str("start"), str("end"), positive("limit"), str("ips"), str("databases")},
		"listExtensions":               {id("id"), str("project_id"), id("available_extension_id"), id("datastore_id"), id("database_id"), str("status")},
		"listFlavors":                  {id("id"), str("name"), str("fl_size")},
		"listGrants":                   {id("id"), str("project_id"), id("datastore_id"), id("database_id"), id("user_id"), str("status")},
		"listLogicalReplicationSlots":  {id("id"), str("project_id"), str("name"), id("datastore_id"), id("database_id"), str("status"), boolean("in_use")},
		"listPrometheusMetricsTokens":  {id("id"), str("project_id"), str("name"), str("value")},
		"listUsers":                    {id("id"), str("project_id"), str("name"), id("datastore_id"), str("status")},
		"listTopics":                   {id("id"), str("project_id"), str("name"), id("datastore_id"), str("status")},
	}
	for opID, want := range cases {
		_, _, op := operationByID(t, doc, opID)
		got := map[string]*openapi3.Parameter{}
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInQuery {
				got[p.Value.Name] = p.Value
			}
		}
		for _, w := range want {
			p := got[w.name]
			if p == nil {
				t.Errorf("%s: no query parameter %s", opID, w.name)
				continue
			}
			s := p.Schema.Value
			if !s.Type.Is(w.typ) || s.Format != w.format {
				t.Errorf("%s: %s is %v/%q, want %s/%q", opID, w.name, s.Type.Slice(), s.Format, w.typ, w.format)
			}
			if w.min != nil && (s.Min == nil || *s.Min != *w.min) {
				t.Errorf("%s: %s minimum %v, want %v", opID, w.name, s.Min, *w.min)
			}
			if p.Required {
				t.Errorf("%s: filter %s must be optional", opID, w.name)
			}
		}
	}
	// Metrics and logs time bounds are Timestamps.
	for _, opID := range []string{"getDatastoreMetrics", "getDatastoreLogs"} {
		_, _, op := operationByID(t, doc, opID)
		for _, p := range op.Parameters {
			if p.Value.Name == "start" || p.Value.Name == "end" {
				if err := p.Value.Schema.Value.VisitJSON("2024-01-02T03:04:05Z"); err == nil {
					t.Errorf("%s: %s accepts a zoned timestamp", opID, p.Value.Name)
				}
			}
		}
	}
	// Every path parameter is a required UUID.
	for path, item := range doc.Paths.Map() {
		for _, p := range item.Parameters {
			if p.Value.In != openapi3.ParameterInPath {
				continue
			}
			if !p.Value.Required || p.Value.Schema.Value.Format != "uuid" || !strings.Contains(path, "{"+p.Value.Name+"}") {
				t.Errorf("%s: path parameter %s must be a required uuid", path, p.Value.Name)
			}
		}
	}
}

// Request bounds ----------------------------------------------------------------

func TestRequestBounds(t *testing.T) {
	doc := loadDoc(t)
	cases := []struct {
		name, schema, body string
		ok                 bool
	}{
		{"topic partitions 0", "TopicCreateRequest", `{"topic":{"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","name":"t","partitions":0}}`, false},
		{"topic partitions 4000", "TopicCreateRequest", `{"topic":{"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","name":"t","partitions":4000}}`, true},
		{"topic partitions 4001", "TopicCreateRequest", `{"topic":{"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","name":"t","partitions":4001}}`, false},
		{"topic update partitions 4001", "TopicUpdateRequest", `{"topic":{"partitions":4001}}`, false},
		{"topic update partitions 0", "TopicUpdateRequest", `{"topic":{"partitions":0}}`, false},
		{"topic without name", "TopicCreateRequest", `{"topic":{"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","partitions":1}}`, false},
		{"acl pattern_type regex", "AclCreateRequest", `{"acl":{"allow_read":true,"allow_write":false,"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","pattern_type":"regex","user_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4"}}`, false},
		{"acl all without pattern", "AclCreateRequest", `{"acl":{"allow_read":true,"allow_write":false,"datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","pattern_type":"all","user_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4"}}`, true},
		{"pooler mode bogus", "PoolerUpdateRequest", `{"pooler":{"mode":"bogus","size":10}}`, false},
		{"pooler size 0", "PoolerUpdateRequest", `{"pooler":{"mode":"session","size":0}}`, false},
		{"pooler size 501", "PoolerUpdateRequest", `{"pooler":{"mode":"statement","size":501}}`, false},
		{"pooler transaction 500", "PoolerUpdateRequest", `{"pooler":{"mode":"transaction","size":500}}`, true},
		{"node_count 0", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":0}}`, false},
		{"node_count 7", "DatastoreResizeRequest", `{"resize":{"node_count":7}}`, false},
		{"node_count 3, extra field", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":3,"from_the_future":1}}`, true},
		{"datastore without type", "DatastoreCreateRequest", `{"datastore":{"name":"d","subnet_id":"s","node_count":1}}`, false},
		{"disk type ssd", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":1,"disk":{"size":10,"type":"ssd"}}}`, false},
		{"flavor disk_type bogus", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":1,"flavor":{"vcpus":1,"ram":1,"disk":1,"disk_type":"bogus"}}}`, false},
		{"floating master 2", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":1,"floating_ips":{"master":2,"replica":0}}}`, false},
		{"config null resets", "DatastoreConfigUpdateRequest", `{"config":{"work_mem":null,"xmloption":"content","transform_null_equals":false,"vacuum_cost_delay":25}}`, true},
		{"config on create, null", "DatastoreCreateRequest", `{"datastore":{"name":"d","type_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","subnet_id":"s","node_count":1,"config":{"work_mem":null}}}`, true},
		{"config missing", "DatastoreConfigUpdateRequest", `{}`, false},
		{"backups 0 days", "BackupsUpdateRequest", `{"backups":{"backup_retention_days":0}}`, false},
		{"backups 7 days", "BackupsUpdateRequest", `{"backups":{"backup_retention_days":7}}`, true},
		{"backups unwrapped", "BackupsUpdateRequest", `{"backup_retention_days":7}`, false},
		{"security groups empty", "SecurityGroupsUpdateRequest", `{"security_groups":[]}`, false},
		{"security groups twice", "SecurityGroupsUpdateRequest", `{"security_groups":["20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4"]}`, false},
		{"security group not a uuid", "SecurityGroupsUpdateRequest", `{"security_groups":["default"]}`, false},
		{"slot name upper case", "LogicalReplicationSlotCreateRequest", `{"logical-replication-slot":{"database_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","name":"Slot"}}`, false},
		{"slot name", "LogicalReplicationSlotCreateRequest", `{"logical-replication-slot":{"database_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","datastore_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4","name":"test_slot_1"}}`, true},
		{"user empty password", "UserUpdateRequest", `{"user":{"password":""}}`, false},
		{"fl_size huge", "FlavorCreateRequest", `{"flavor":{"datastore_type_ids":[],"disk":1,"name":"f","ram":1,"vcpus":1,"fl_size":"huge"}}`, false},
		{"floating-ip (Go SDK key)", "FloatingIpCreateRequest", `{"floating-ip":{"instance_id":"20d7bcf4-f8d6-4bf6-b8f6-46cb440a87f4"}}`, true},
		{"floating ip, no key", "FloatingIpDeleteRequest", `{}`, false},
		{"floating ip, bad instance", "FloatingIpDeleteRequest", `{"floating_ip":{"instance_id":"x"}}`, false},
		{"protection as string", "DatastoreProtectionRequest", `{"protection":"true"}`, false},
	}
	for _, c := range cases {
		err := validate(schemaNamed(t, doc, c.schema), decode(t, c.body), true)
		if c.ok && err != nil {
			t.Errorf("%s: rejected: %v", c.name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s: accepted %s", c.name, c.body)
		}
	}
}

// (e) ------------------------------------------------------------------------

// textSamples are the JSON samples of managed-databases-api-v1.txt (its "- "
// list markers removed), each with the schema it must validate against, in
// testdata/text-samples.json.
var textSamples = func() []textSample {
	b, err := os.ReadFile("testdata/text-samples.json")
	if err != nil {
		panic(err)
	}
	var out []textSample
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("testdata/text-samples.json: %v", err))
	}
	return out
}()

// textSample is one sample of the API text: where it is (operation and
// status or payload), the schema it must validate against, and the JSON.
type textSample struct {
	Sample  string          `json:"sample"`
	Schema  string          `json:"schema"`
	Request bool            `json:"request"`
	JSON    json.RawMessage `json:"json"`
}

func TestTextSamplesValidate(t *testing.T) {
	doc := loadDoc(t)
	covered := map[string]bool{}
	for _, s := range textSamples {
		covered[s.Schema] = true
		if err := validate(schemaNamed(t, doc, s.Schema), decode(t, string(s.JSON)), s.Request); err != nil {
			t.Errorf("sample for %s does not validate: %v", s.Schema, err)
		}
	}
	for _, must := range []string{"DatastoreResponse", "UserResponse", "DatabaseResponse", "GrantResponse",
		"AclResponse", "TopicResponse", "FlavorResponse", "ConfigurationParameterResponse", "QuotaListResponse"} {
		if !covered[must] {
			t.Errorf("no text sample checks %s", must)
		}
	}
}

func sampleFor(t *testing.T, schema string) map[string]any {
	t.Helper()
	for _, s := range textSamples {
		if s.Schema == schema {
			return decode(t, string(s.JSON)).(map[string]any)
		}
	}
	t.Fatalf("no sample for %s", schema)
	return nil
}

// TestBrokenSamplesFail proves the sample checks can fail: each mutation of a
// text sample must be rejected.
func TestBrokenSamplesFail(t *testing.T) {
	doc := loadDoc(t)
	cases := []struct {
		name, schema string
		mutate       func(m map[string]any)
	}{
		{"datastore without status", "DatastoreResponse", func(m map[string]any) {
			delete(m["datastore"].(map[string]any), "status")
		}},
		{"datastore created_at null", "DatastoreResponse", func(m map[string]any) {
			m["datastore"].(map[string]any)["created_at"] = nil
		}},
		{"datastore connection value not a string", "DatastoreResponse", func(m map[string]any) {
			m["datastore"].(map[string]any)["connection"] = map[string]any{"master": 5432.0}
		}},
		{"datastore instance without floating_ip", "DatastoreResponse", func(m map[string]any) {
			inst := m["datastore"].(map[string]any)["instances"].([]any)[0].(map[string]any)
			delete(inst, "floating_ip")
		}},
		{"user created_at with zone", "UserResponse", func(m map[string]any) {
			m["user"].(map[string]any)["created_at"] = "1970-01-01T00:00:00Z"
		}},
		{"user created_at with fraction", "UserResponse", func(m map[string]any) {
			m["user"].(map[string]any)["created_at"] = "1970-01-01T00:00:00.123"
		}},
		{"grant id not a uuid", "GrantResponse", func(m map[string]any) {
			m["grant"].(map[string]any)["id"] = "not-a-uuid"
		}},
		{"database unwrapped", "DatabaseResponse", func(m map[string]any) {
			for k, v := range m["database"].(map[string]any) {
				m[k] = v
			}
			delete(m, "database")
		}},
		{"acl allow_read as string", "AclResponse", func(m map[string]any) {
			m["acl"].(map[string]any)["allow_read"] = "true"
		}},
		{"topic partitions fractional", "TopicResponse", func(m map[string]any) {
			m["topic"].(map[string]any)["partitions"] = 1.5
		}},
		{"flavor without host", "FlavorResponse", func(m map[string]any) {
			delete(m["flavor"].(map[string]any), "host")
		}},
		{"configuration parameter without default_value", "ConfigurationParameterResponse", func(m map[string]any) {
			delete(m["configuration-parameter"].(map[string]any), "default_value")
		}},
		{"quota as string", "QuotaListResponse", func(m map[string]any) {
			m["quotas"].([]any)[0].(map[string]any)["ram"] = "0"
		}},
		{"error without message", "ErrorResponse", func(m map[string]any) {
			delete(m["error"].(map[string]any), "message")
		}},
		{"count without kafka", "DatastoreCount", func(m map[string]any) {
			delete(m, "kafka")
		}},
		{"metrics without step", "MetricsResponse", func(m map[string]any) {
			delete(m["metrics"].(map[string]any), "step")
		}},
		{"metric values as strings", "MetricsResponse", func(m map[string]any) {
			series := m["metrics"].(map[string]any)["*"].(map[string]any)["property1"].(map[string]any)
			series["values"] = []any{"0"}
		}},
		{"action without progress", "ActionResponse", func(m map[string]any) {
			delete(m["action"].(map[string]any), "progress")
		}},
		{"action progress 101", "ActionResponse", func(m map[string]any) {
			m["action"].(map[string]any)["progress"] = 101.0
		}},
	}
	for _, c := range cases {
		m := sampleFor(t, c.schema)
		c.mutate(m)
		if err := validate(schemaNamed(t, doc, c.schema), m, false); err == nil {
			t.Errorf("%s: the broken sample validates", c.name)
		}
	}
}

func TestNullableResponseFields(t *testing.T) {
	doc := loadDoc(t)
	m := sampleFor(t, "DatastoreResponse")
	ds := m["datastore"].(map[string]any)
	ds["creation_finished_at"] = nil
	ds["log_platform"] = nil
	ds["pooler"] = nil
	ds["flavor_id"] = nil
	ds["config"] = map[string]any{"work_mem": 512.0, "xmloption": "content", "transform_null_equals": false}
	ds["instances"].([]any)[0].(map[string]any)["floating_ip"] = nil
	if err := validate(schemaNamed(t, doc, "DatastoreResponse"), m, false); err != nil {
		t.Errorf("datastore with null optional values: %v", err)
	}
	a := sampleFor(t, "ActionResponse")
	action := a["action"].(map[string]any)
	action["finish_time"], action["start_time"], action["error"] = nil, nil, "disk full"
	if err := validate(schemaNamed(t, doc, "ActionResponse"), a, false); err != nil {
		t.Errorf("unfinished action: %v", err)
	}
}

// TestActionAdditions: the text's action sample lacks exactly the two
// documented additions, error and progress.
func TestActionAdditions(t *testing.T) {
	doc := loadDoc(t)
	action := schemaNamed(t, doc, "Action")
	for _, name := range []string{"error", "progress"} {
		p := action.Properties[name]
		if p == nil || !strings.Contains(p.Value.Description, "Addition") {
			t.Errorf("Action.%s must exist and be described as an addition", name)
		}
	}
	if !action.Properties["error"].Value.Nullable {
		t.Error("Action.error must be nullable")
	}
	pr := action.Properties["progress"].Value
	if !pr.Type.Is("integer") || pr.Min == nil || *pr.Min != 0 || pr.Max == nil || *pr.Max != 100 {
		t.Error("Action.progress must be an integer 0..100")
	}
}

// TestLogsAreAList: the text's logs sample shows one entry object; the document
// models a list of entries.
func TestLogsAreAList(t *testing.T) {
	doc := loadDoc(t)
	s := schemaNamed(t, doc, "LogEntryListResponse")
	const entry = `{"datastore_id":"string","ip":"string","labels":{"key":"value"},"ts":0,"value":"string"}`
	if err := validate(s, decode(t, `{"logs":`+entry+`}`), false); err == nil {
		t.Error("a single log entry object validates as the logs list")
	}
	if err := validate(s, decode(t, `{"logs":[`+entry+`,`+entry+`]}`), false); err != nil {
		t.Errorf("a list of log entries: %v", err)
	}
	if err := validate(s, decode(t, `{"logs":[]}`), false); err != nil {
		t.Errorf("an empty list of log entries: %v", err)
	}
}

func TestTimestamp(t *testing.T) {
	doc := loadDoc(t)
	ts := schemaNamed(t, doc, "Timestamp")
	for _, good := range []string{"1970-01-01T00:00:00", "2024-12-31T23:59:59"} {
		if err := ts.VisitJSON(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, bad := range []string{"1970-01-01 00:00:00", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00+03:00", "1970-01-01", ""} {
		if err := ts.VisitJSON(bad); err == nil {
			t.Errorf("%q is accepted as a Timestamp", bad)
		}
	}
	if err := ts.VisitJSON(nil); err == nil {
		t.Error("null is accepted as a Timestamp")
	}
	if err := schemaNamed(t, doc, "NullableTimestamp").VisitJSON(nil); err != nil {
		t.Errorf("null NullableTimestamp: %v", err)
	}
}

func TestKeyedObjects(t *testing.T) {
	doc := loadDoc(t)
	want := map[string][]string{
		"DatastoreCount":           {"kafka", "mysql_semisync", "mysql_sync", "postgresql", "redis"},
		"CapabilityDatastoreTypes": {"kafka", "mysql_semisync", "mysql_sync", "postgresql", "redis"},
		"LimitByEngine":            {"kafka", "mysql", "mysql_native", "postgresql", "redis"},
		"ErrorResponse":            {"error"},
		"Error":                    {"code", "message", "title"},
	}
	for name, keys := range want {
		s := schemaNamed(t, doc, name)
		var got []string
		for k := range s.Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(keys, ",") {
			t.Errorf("%s keys = %v, want %v", name, got, keys)
		}
	}
}

// TestWrapperKeys: one object is wrapped in the singular key, a list in the plural
// key, kebab-case where the resource name has several words.
func TestWrapperKeys(t *testing.T) {
	doc := loadDoc(t)
	wrappers := map[string][2]string{
		"Acl":                    {"acl", "acls"},
		"Action":                 {"action", "actions"},
		"AvailableExtension":     {"available-extension", "available-extensions"},
		"ConfigurationParameter": {"configuration-parameter", "configuration-parameters"},
		"Database":               {"database", "databases"},
		"Datastore":              {"datastore", "datastores"},
		"DatastoreType":          {"datastore-type", "datastore-types"},
		"Extension":              {"extension", "extensions"},
		"Flavor":                 {"flavor", "flavors"},
		"Grant":                  {"grant", "grants"},
		"LogicalReplicationSlot": {"logical-replication-slot", "logical-replication-slots"},
		"PrometheusMetricsToken": {"prometheus-metrics-token", "prometheus-metrics-tokens"},
		"User":                   {"user", "users"},
		"Topic":                  {"topic", "topics"},
	}
	for name, keys := range wrappers {
		one := schemaNamed(t, doc, name+"Response")
		if p := one.Properties[keys[0]]; p == nil || p.Ref != "#/components/schemas/"+name || len(one.Properties) != 1 {
			t.Errorf("%sResponse must be {%q: %s}", name, keys[0], name)
		}
		list := schemaNamed(t, doc, name+"ListResponse")
		if p := list.Properties[keys[1]]; p == nil || p.Value.Items == nil || p.Value.Items.Ref != "#/components/schemas/"+name || len(list.Properties) != 1 {
			t.Errorf("%sListResponse must be {%q: [%s]}", name, keys[1], name)
		}
		for _, kind := range []string{"Create", "Update"} {
			req := doc.Components.Schemas[name+kind+"Request"]
			if req == nil {
				continue
			}
			if p := req.Value.Properties[keys[0]]; p == nil || p.Ref != "#/components/schemas/"+name+kind {
				t.Errorf("%s%sRequest must be {%q: %s%s}", name, kind, keys[0], name, kind)
			}
		}
	}
}
