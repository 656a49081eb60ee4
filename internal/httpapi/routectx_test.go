package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

func TestObserverSeesTheRoutePattern(t *testing.T) {
	t.Parallel()
	r := chi.NewRouter()
	r.Get("/v1/datastores/{datastore_id}", func(w http.ResponseWriter, _ *http.Request) {})
	var route string
	h := withLogAndRecover(slog.New(slog.DiscardHandler), func(_, rt string, _ int, _ time.Duration) { route = rt }, r)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/datastores/abc", nil))
	if route != "/v1/datastores/{datastore_id}" {
		t.Fatalf("route %q", route)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/nothing", nil))
	if route != "/v1/unknown" {
		t.Fatalf("unmatched route %q", route)
	}
}
