package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/service"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
)

// HeaderRequestID carries the request ID in both directions.
const HeaderRequestID = "X-Request-Id"

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "req-" + hex.EncodeToString(b)
}

// withRequestID gives every request an ID (the client's, if it sent a sane
// one) and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if id == "" || len(id) > 128 {
			id = newRequestID()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Observer is told about every finished request (for metrics).
type Observer func(method, route string, status int, d time.Duration)

// withLogAndRecover logs each request (never its body or headers, which
// carry secrets), turns panics into 500s, and reports to the observer.
func withLogAndRecover(log *slog.Logger, observe Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = withRouteContext(r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic serving request", "request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error; the request ID identifies it in the server's log")
				}
			}
			d := time.Since(start)
			log.Debug("request", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "duration_ms", d.Milliseconds())
			if observe != nil {
				observe(r.Method, routeOf(r), sw.status, d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// authInfo is what authentication learnt of a request: its caller, and
// the version of the caller's project read then (auth.Principal).
type authInfo struct {
	caller  service.Caller
	version int64
}

// callerFrom returns the authenticated caller of a request.
func callerFrom(ctx context.Context) service.Caller {
	a, _ := ctx.Value(keyCaller).(authInfo)
	c := a.caller
	c.RequestID = requestID(ctx)
	return c
}

// withAuth authenticates X-Auth-Token; without a valid token the answer is 401.
func withAuth(a *auth.Authenticator, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r.Context(), r.Header.Get("X-Auth-Token"))
			if err != nil {
				if !errors.Is(err, auth.ErrUnauthenticated) {
					log.Error("authentication failed", "request_id", requestID(r.Context()), "error", err)
					writeError(w, http.StatusServiceUnavailable, "authentication is unavailable right now")
					return
				}
				writeError(w, http.StatusUnauthorized, "X-Auth-Token is missing, unknown, expired or revoked")
				return
			}
			a := authInfo{caller: service.Caller{ProjectID: p.ProjectID, Admin: p.Admin}, version: p.Version}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCaller, a)))
		})
	}
}

// withBodyLimit bounds request bodies.
func withBodyLimit(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", n))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}
