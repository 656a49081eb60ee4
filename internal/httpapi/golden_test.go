package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	tsRe   = regexp.MustCompile(`"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"`)
	portRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	// tokenRe is a metrics token's value (43 URL-safe characters).
	tokenRe = regexp.MustCompile(`"value": "[A-Za-z0-9_-]{43}"`)
)

// normalize makes a response comparable across runs: IDs become <id-N> in
// order of first appearance, timestamps <ts>, ports <port>, metrics token
// values <token>; keys are sorted
// and the JSON indented.
func normalize(t *testing.T, body []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	out = uuidRe.ReplaceAllFunc(out, func(b []byte) []byte {
		if _, ok := seen[string(b)]; !ok {
			seen[string(b)] = "<id-" + string(rune('A'+len(seen))) + ">"
		}
		return []byte(seen[string(b)])
	})
	out = tsRe.ReplaceAll(out, []byte(`"<ts>"`))
	out = portRe.ReplaceAll(out, []byte(`127.0.0.1:<port>`))
	out = tokenRe.ReplaceAll(out, []byte(`"value": "<token>"`))
	return append(out, '\n')
}

// TestGoldenShapes pins the wire shape of one response per resource.
func TestGoldenShapes(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	w := build(t, e)
	e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+w.pg+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"10.0.0.0/8"}}})
	e.MarkActive(w.pg)
	shapes := map[string]string{
		"datastore":                "/v1/datastores/" + w.pg,
		"user":                     "/v1/users/" + w.user,
		"database":                 "/v1/databases/" + w.db,
		"grant":                    "/v1/grants/" + w.grant,
		"extension":                "/v1/extensions/" + w.ext,
		"logical-replication-slot": "/v1/logical-replication-slots/" + w.slot,
		"topic":                    "/v1/topics/" + w.topic,
		"acl":                      "/v1/acls/" + w.acl,
		"prometheus-metrics-token": "/v1/prometheus-metrics-tokens/" + w.token,
		"configuration-parameter":  "/v1/configuration-parameters/" + w.param,
		"datastore-type":           "/v1/datastore-types/" + w.typ,
		"count":                    "/v1/datastores/count",
		"quotas":                   "/v1/quotas",
		"capabilities":             "/v1/capabilities",
		"error-not-found":          "/v1/users/3f2504e0-4f89-41d3-9a0c-0305e82c3301",
	}
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := e.Do(at.TokenA, http.MethodGet, shapes[name], nil)
			got := normalize(t, r.Body)
			file := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/httpapi -run TestGoldenShapes -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response of %s changed shape:\n--- got\n%s\n--- want\n%s", shapes[name], got, want)
			}
		})
	}
}
