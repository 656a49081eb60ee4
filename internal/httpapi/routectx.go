package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// withRouteContext gives a request the route context the router fills in.
// The router otherwise makes its own and recycles it when it returns, so
// middleware outside it could not tell which route pattern matched
// (routeOf, for the metrics of requests by route).
func withRouteContext(r *http.Request) *http.Request {
	if chi.RouteContext(r.Context()) != nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, chi.NewRouteContext()))
}
