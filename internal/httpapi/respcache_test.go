package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/dbaasd/dbaasd/internal/service"
)

// TestResponseCache: an answer is served again only to a request of the
// same project, URI and project version; errors, other methods, other
// routes and oversized answers are never kept.
func TestResponseCache(t *testing.T) {
	t.Parallel()
	calls := 0
	status, body := http.StatusOK, `{"n":1}`
	h := newResponseCache().middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	do := func(method, pattern, uri, project string, version int64) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, uri, nil)
		rc := chi.NewRouteContext()
		rc.RoutePatterns = []string{pattern}
		ctx := context.WithValue(r.Context(), chi.RouteCtxKey, rc)
		ctx = context.WithValue(ctx, keyCaller, authInfo{caller: service.Caller{ProjectID: project}, version: version})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r.WithContext(ctx))
		return w
	}
	const list = "/v1/datastores"
	for _, c := range []struct {
		name, method, pattern, uri, project string
		version                             int64
		handled                             bool // reached the handler
	}{
		{"first read", "GET", list, list, "a", 1, true},
		{"same read", "GET", list, list, "a", 1, false},
		{"other query", "GET", list, list + "?status=ACTIVE", "a", 1, true},
		{"other project", "GET", list, list, "b", 1, true},
		{"new version", "GET", list, list, "a", 2, true},
		{"new version again", "GET", list, list, "a", 2, false},
		{"older version", "GET", list, list, "a", 1, true},
		{"route not cached", "GET", "/v1/users", "/v1/users", "a", 2, true},
		{"route not cached again", "GET", "/v1/users", "/v1/users", "a", 2, true},
		{"not a read", "POST", list, list, "a", 2, true},
	} {
		before := calls
		w := do(c.method, c.pattern, c.uri, c.project, c.version)
		if got := calls > before; got != c.handled || w.Body.String() != body || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: handled %v (want %v), body %q", c.name, got, c.handled, w.Body)
		}
	}
	status, body = http.StatusNotFound, `{"error":{}}`
	for i := 0; i < 2; i++ {
		before := calls
		if w := do("GET", "/v1/datastores/{datastore_id}", "/v1/datastores/x", "a", 3); calls == before || w.Code != http.StatusNotFound {
			t.Fatalf("an error answer was served from the cache")
		}
	}
	status, body = http.StatusOK, strings.Repeat("x", maxCachedResponse+1)
	for i := 0; i < 2; i++ {
		before := calls
		if do("GET", list, list+"?big", "a", 3); calls == before {
			t.Fatalf("an oversized answer was kept")
		}
	}
}
