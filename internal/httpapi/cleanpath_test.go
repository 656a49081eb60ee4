package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCleanPathCollapsesSlashes(t *testing.T) {
	t.Parallel()
	var seen string
	h := withCleanPath(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.URL.Path }))
	for in, want := range map[string]string{
		"/v1//datastores":            "/v1/datastores",
		"//v1///datastores/x//y":     "/v1/datastores/x/y",
		"/v1/datastores?name=a//b":   "/v1/datastores",
		"/v1/datastores/":            "/v1/datastores/",
		"/identity/v3//auth//tokens": "/identity/v3/auth/tokens",
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://x"+in, nil))
		if seen != want {
			t.Errorf("%s: handler saw %s, want %s", in, seen, want)
		}
	}
}
