package httpapi

import (
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"
)

// Response cache. The answers of the routes in cachedRoutes are made only
// of rows of store.VersionedTables of the caller's project (a datastore,
// its instances, the counts of its databases and topics), and every write
// of such a row changes the project's version in the store in the same
// transaction, whoever writes it (triggers). The version is read once per
// request, while authenticating, before anything else is read; an answer
// built after that read is kept with that version, and served again only
// to a request that read the same version. So a cached answer is never
// older than the last write committed before the request that gets it,
// on any dbaasd replica sharing the store.
var cachedRoutes = map[string]bool{
	"/v1/datastores":                true,
	"/v1/datastores/{datastore_id}": true,
}

// Bounds of the cache.
const (
	maxCachedBytes    = 16 << 20 // all answers
	maxCachedResponse = 1 << 20  // one answer
)

type cachedResponse struct {
	version     int64
	contentType string
	body        []byte
}

// responseCache keeps answers by project and request URI.
type responseCache struct {
	mu    sync.RWMutex
	bytes int
	m     map[string]*cachedResponse
}

func newResponseCache() *responseCache { return &responseCache{m: map[string]*cachedResponse{}} }

func (c *responseCache) get(key string, version int64) *cachedResponse {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.m[key]; e != nil && e.version == version {
		return e
	}
	return nil
}

func (c *responseCache) put(key string, e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key]; old != nil {
		if old.version > e.version {
			return // a newer answer is there already
		}
		c.bytes -= len(old.body)
	}
	for k, old := range c.m { // arbitrary victims, until the answer fits
		if c.bytes+len(e.body) <= maxCachedBytes {
			break
		}
		c.bytes -= len(old.body)
		delete(c.m, k)
	}
	c.m[key] = e
	c.bytes += len(e.body)
}

// middleware serves cached answers of the cached routes and keeps the
// answers (200 only) it lets through. It runs after authentication.
func (c *responseCache) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := r.Context().Value(keyCaller).(authInfo)
		rc := chi.RouteContext(r.Context())
		if !ok || r.Method != http.MethodGet || rc == nil || !cachedRoutes[rc.RoutePattern()] {
			next.ServeHTTP(w, r)
			return
		}
		key := a.caller.ProjectID + " " + r.URL.Path + "?" + r.URL.RawQuery
		if e := c.get(key, a.version); e != nil {
			w.Header().Set("Content-Type", e.contentType)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(e.body)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK && !rec.tooBig {
			c.put(key, &cachedResponse{version: a.version, contentType: w.Header().Get("Content-Type"), body: rec.body})
		}
	})
}

// recorder passes a response through and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
	tooBig bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.tooBig {
		if len(r.body)+len(b) > maxCachedResponse {
			r.tooBig, r.body = true, nil
		} else {
			r.body = append(r.body, b...)
		}
	}
	return r.ResponseWriter.Write(b)
}
