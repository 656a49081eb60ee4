package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestRestartKeepsEveryRecord stops dbaasd and starts it again on the same
// data dir (and store): every record reads back exactly as before, and the
// tokens still work.
func TestRestartKeepsEveryRecord(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprintf("postgres_store=%v", pg), func(t *testing.T) {
			t.Parallel()
			e := at.Start(t, at.Options{Postgres: pg})
			w := build(t, e)
			paths := []string{
				"/v1/datastores", "/v1/datastores?deleted=true", "/v1/users", "/v1/databases", "/v1/grants", "/v1/extensions",
				"/v1/logical-replication-slots", "/v1/topics", "/v1/acls", "/v1/prometheus-metrics-tokens", "/v1/actions",
				"/v1/quotas", "/v1/datastores/count", "/v1/datastores/" + w.pg, "/v1/flavors", "/v1/datastore-types",
				"/v1/available-extensions", "/v1/configuration-parameters?name=work_mem",
			}
			before := map[string]string{}
			for _, p := range paths {
				before[p] = string(e.Do(at.TokenA, http.MethodGet, p, nil).Body)
			}
			e.Stop()
			again := at.Start(t, at.Options{Postgres: pg, DataDir: e.DataDir, StoreURL: e.StoreURL})
			for _, p := range paths {
				r := again.Do(at.TokenA, http.MethodGet, p, nil)
				if r.Status != http.StatusOK || string(r.Body) != before[p] {
					t.Errorf("GET %s after restart:\n%s\nbefore:\n%s", p, r.Body, before[p])
				}
			}
		})
	}
}
