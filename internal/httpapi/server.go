// Package api serves the Managed Databases API v1 over HTTP. Routing and
// wire types are generated from api/openapi.yaml (package gen); requests are
// validated against the document before they reach a handler; handlers only
// translate between the wire and package service and map errors to the
// API's error body.
package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/dbaasd/dbaasd/api"
	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/service"
)

// Server implements the generated strict server interface.
type Server struct {
	svc       *service.Service
	telemetry Telemetry
}

var _ gen.StrictServerInterface = (*Server)(nil)

// Options configure the HTTP handler.
type Options struct {
	Service       *service.Service
	Authenticator *auth.Authenticator
	Logger        *slog.Logger
	// Telemetry answers metrics and logs (nil: empty answers).
	Telemetry Telemetry
	// Mounts are extra handlers by path prefix (identity, exporter, /metrics).
	Mounts map[string]http.Handler
	// Ready reports whether the server is ready to serve (for /healthz).
	Ready func() bool
	// Observe is told about every request (for dbaasd's own metrics).
	Observe Observer
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
}

// NewHandler returns dbaasd's HTTP handler.
func NewHandler(o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	doc, err := api.Load()
	if err != nil {
		return nil, err
	}
	v, err := newValidator(doc)
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	docsPage, err := renderDocs(doc)
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready() {
			writeError(w, http.StatusServiceUnavailable, "starting")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	serve := func(ct string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write(body)
		}
	}
	r.Get("/v1/openapi.yaml", serve("application/yaml", api.Spec))
	r.Get("/v1/openapi.json", serve("application/json", specJSON))
	r.Get("/docs", serve("text/html; charset=utf-8", docsPage))
	r.Get("/docs/", serve("text/html; charset=utf-8", docsPage))
	for prefix, h := range o.Mounts {
		r.Mount(prefix, h)
	}

	srv := &Server{svc: o.Service, telemetry: o.Telemetry}
	strict := gen.NewStrictHandlerWithOptions(srv, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  requestErrorHandler,
		ResponseErrorHandlerFunc: errorHandler(o.Logger),
	})
	gen.HandlerWithOptions(strict, gen.ChiServerOptions{
		BaseURL:    "/v1",
		BaseRouter: r,
		// Applied innermost first: authentication, then cached answers,
		// then validation.
		Middlewares: []gen.MiddlewareFunc{v.middleware, newResponseCache().middleware, withAuth(o.Authenticator, o.Logger)},
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusBadRequest, err.Error())
		},
	})
	var h http.Handler = r
	h = withCleanPath(h)
	h = withBodyLimit(o.MaxBodyBytes, h)
	h = withLogAndRecover(o.Logger, o.Observe, h)
	h = withRequestID(h)
	return h, nil
}

// routeOf returns the route pattern a request matched (for metrics labels).
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		return "/v1/unknown"
	}
	return "other"
}
