package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/service"
)

// titles are the error titles by status, as the clients expect them.
var titles = map[int]string{
	http.StatusBadRequest:            "Bad Request",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not Found",
	http.StatusMethodNotAllowed:      "Method Not Allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Request Entity Too Large",
	http.StatusUnsupportedMediaType:  "Unsupported Media Type",
	http.StatusInternalServerError:   "Internal Server Error",
	http.StatusServiceUnavailable:    "Service Unavailable",
	http.StatusInsufficientStorage:   "Insufficient Storage",
}

// writeError writes the API's error body with the HTTP status equal to its code.
func writeError(w http.ResponseWriter, code int, message string) {
	title := titles[code]
	if title == "" {
		title = http.StatusText(code)
	}
	body := gen.ErrorResponse{}
	body.Error.Code, body.Error.Title, body.Error.Message = code, title, message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// statusOf maps a service error to an HTTP status.
func statusOf(err error) (int, string) {
	if errors.Is(err, service.ErrStoreFull) {
		return http.StatusInsufficientStorage, "dbaasd could not record the change: " + err.Error() +
			"; nothing was changed; the operator must free space for dbaasd's store"
	}
	if e, ok := service.AsError(err); ok {
		switch e.Kind {
		case service.KindNotFound:
			return http.StatusNotFound, e.Error()
		case service.KindForbidden:
			return http.StatusForbidden, e.Error()
		default:
			return http.StatusBadRequest, e.Error()
		}
	}
	return http.StatusInternalServerError, "internal error; the request ID identifies it in the server's log"
}

// errorHandler returns the strict server's response error handler: service
// errors become 4xx; anything else is logged and becomes a 500 without
// internal details.
func errorHandler(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, err error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		code, msg := statusOf(err)
		switch {
		case code == http.StatusInsufficientStorage:
			log.Error("store full: a change could not be recorded; free space for the store", "store_full", true,
				"request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
		case code >= 500:
			log.Error("request failed", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, code, msg)
	}
}

// requestErrorHandler answers requests the generated code could not decode.
func requestErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	var me *maxBytesError
	if errors.As(err, &me) {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "invalid request: "+err.Error())
}

type maxBytesError struct{ error }
