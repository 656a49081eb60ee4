package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// FuzzRequestDecoder sends arbitrary methods, paths, queries and bodies to
// dbaasd's handler: nothing may answer 5xx or panic, and every 4xx carries
// the API's error body. Seeds run in every `go test`; run
// `go test ./internal/httpapi -fuzz FuzzRequestDecoder` to explore further.
func FuzzRequestDecoder(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/v1/datastores", `{"datastore":{"name":"x","type_id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","subnet_id":"s","node_count":1,"flavor":{"vcpus":1,"ram":1024,"disk":5}}}`},
		{"POST", "/v1/datastores", `{"datastore":{"name":"x","config":{"work_mem":null,"a":[1,{}]},"node_count":1e400}}`},
		{"POST", "/v1/users", `{"user":{"datastore_id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","name":"u","password":"p"}}`},
		{"PUT", "/v1/datastores/3f2504e0-4f89-41d3-9a0c-0305e82c3301/config", `{"config":{"x":"\u0000"}}`},
		{"PUT", "/v1/datastores/3f2504e0-4f89-41d3-9a0c-0305e82c3301/firewall", `{"firewall":{"ips":["::1","300.1.1.1"]}}`},
		{"POST", "/v1/acls", `{"acl":null}`},
		{"POST", "/v1/topics", `[]`},
		{"GET", "/v1/datastores?deleted=true&status=ACTIVE&name=%00", ""},
		{"GET", "/v1/configuration-parameters?ram=-1&vcpus=99999999999999999999", ""},
		{"GET", "/v1/datastores/3f2504e0-4f89-41d3-9a0c-0305e82c3301/metrics?start=2026-01-01T00:00:00&end=2025-01-01T00:00:00", ""},
		{"DELETE", "/v1/floating-ips", `{"floating-ip":{"instance_id":"nope"}}`},
		{"PUT", "/v1/flavors/3f2504e0-4f89-41d3-9a0c-0305e82c3301/host", `{"host":{"total_count":-5}}`},
		{"POST", "/v1/datastores/3f2504e0-4f89-41d3-9a0c-0305e82c3301/resize", `{"resize":{}}`},
		{"GET", "/v1/../v1/datastores", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	fuzzEnv := at.Start(f, at.Options{})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // not a request a client can send
		}
		switch method {
		case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS":
		default:
			return
		}
		req := httptest.NewRequest(method, "http://dbaasd"+path, bytes.NewBufferString(body))
		req.Header.Set("X-Auth-Token", at.TokenA)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		fuzzEnv.D.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && method != "HEAD" {
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Title   string `json:"title"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != rec.Code || e.Error.Title == "" || e.Error.Message == "" {
				t.Fatalf("%s %s: %d without the error body: %s", method, path, rec.Code, rec.Body)
			}
		}
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "" {
			t.Fatalf("%s %s: 200 without a content type", method, path)
		}
	})
}
