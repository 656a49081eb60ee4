package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
)

// tokenBothShapes is a prometheus metrics token answered in both shapes
// at once: wrapped in "prometheus-metrics-token", as the API text shows,
// and with its fields at the top level, as the Go SDK reads the answers of
// GET and PUT /prometheus-metrics-tokens/{id} (and so the Terraform
// provider, which would otherwise read an empty name back and fail with
// an inconsistent result after apply).
type tokenBothShapes struct {
	gen.PrometheusMetricsToken
	Wrapped gen.PrometheusMetricsToken `json:"prometheus-metrics-token"`
}

func bothShapes(t gen.PrometheusMetricsToken) tokenBothShapes {
	return tokenBothShapes{PrometheusMetricsToken: t, Wrapped: t}
}

func (b tokenBothShapes) write(w http.ResponseWriter) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(body, '\n'))
	return err
}

type getTokenResponse struct{ tokenBothShapes }

func (r getTokenResponse) VisitGetPrometheusMetricsTokenResponse(w http.ResponseWriter) error {
	return r.write(w)
}

type updateTokenResponse struct{ tokenBothShapes }

func (r updateTokenResponse) VisitUpdatePrometheusMetricsTokenResponse(w http.ResponseWriter) error {
	return r.write(w)
}
