package httpapi

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/dbaasd/dbaasd/api"
	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
)

// TestEveryRouteHasItsOperation: the validator finds the operation of
// every route the generated router serves by the route's pattern, so no
// request is routed twice (and none skips validation for want of it).
func TestEveryRouteHasItsOperation(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := newValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	gen.HandlerWithOptions(gen.NewStrictHandler(&Server{}, nil), gen.ChiServerOptions{BaseURL: apiBase, BaseRouter: r})
	n := 0
	err = chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		n++
		if v.ops[method+" "+route] == nil {
			t.Errorf("no operation for %s %s", method, route)
		}
		return nil
	})
	if err != nil || n < 50 {
		t.Fatalf("walked %d routes: %v", n, err)
	}
	if o := v.ops["GET /v1/datastores/{datastore_id}"]; o == nil || !o.bare {
		t.Error("GET /v1/datastores/{datastore_id} is not bare")
	}
	if o := v.ops["POST /v1/datastores"]; o == nil || o.bare {
		t.Error("POST /v1/datastores (with a body) is bare")
	}
}
