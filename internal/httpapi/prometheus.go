package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// PrometheusPath is where the projects' Prometheus exporter answers; the
// daemon mounts it under /prometheus.
const PrometheusPath = "/prometheus/metrics"

// TokenResolver returns the project of a Prometheus metrics token value;
// ok is false for unknown and revoked values.
type TokenResolver func(ctx context.Context, value string) (projectID string, ok bool)

// PrometheusSource returns a project's latest samples as a Prometheus
// collector.
type PrometheusSource func(ctx context.Context, projectID string) (prometheus.Collector, error)

// PrometheusExporter serves a project's latest samples (from src) in the
// Prometheus text format at PrometheusPath, to a scraper that sends one of
// the project's metrics tokens as "Authorization: Bearer <value>". It
// answers errors with the API's error body. It lives here, beside the
// API's other handlers, so that the error body is written in one place.
func PrometheusExporter(src PrometheusSource, resolve TokenResolver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PrometheusPath {
			writeError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		value, ok := bearer(r.Header.Get("Authorization"))
		project := ""
		if ok {
			project, ok = resolve(r.Context(), value)
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dbaasd"`)
			writeError(w, http.StatusUnauthorized, "Authorization: Bearer <prometheus metrics token> is missing, unknown or revoked")
			return
		}
		c, err := src(r.Context(), project)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "metrics are unavailable right now")
			return
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(c)
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
}

// bearer extracts the credential of an "Authorization: Bearer" header.
func bearer(h string) (string, bool) {
	scheme, value, ok := strings.Cut(strings.TrimSpace(h), " ")
	value = strings.TrimSpace(value)
	return value, ok && strings.EqualFold(scheme, "Bearer") && value != ""
}
