package httpapi

import (
	"net/http"
	"strings"
)

// withCleanPath collapses repeated slashes in the request path before
// routing, as the reverse proxies in front of the original service do.
// The Go SDK's constructor that finds the endpoint in the identity catalog
// gets it with a trailing slash ("…/v1/") and appends paths that start
// with one, so every request it sends is "/v1//datastores…".
func withCleanPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			u := *r.URL
			u.Path = collapseSlashes(u.Path)
			if u.RawPath != "" {
				u.RawPath = collapseSlashes(u.RawPath)
			}
			r2 := r.Clone(r.Context())
			r2.URL = &u
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

func collapseSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
