package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"
)

// validator checks requests against the OpenAPI document before they reach
// a handler, so handlers see only well-formed input.
type validator struct {
	doc *openapi3.T
	// router finds the operation of a request the router did not match
	// to one (none is expected); built on first use.
	routerOnce sync.Once
	router     routers.Router
	routerErr  error
	opts       *openapi3filter.Options
	// ops are the document's operations by method and route pattern (as
	// the router matched it), so that a request is not routed twice.
	ops map[string]*operation
}

// operation is one operation of the document.
type operation struct {
	route *routers.Route
	// bare is set when the operation takes no request body, no header or
	// cookie parameters and no required query parameter: a request to it
	// without a query string or a body carries nothing to validate but
	// its path parameters, which the generated router parses and checks
	// already.
	bare bool
}

var defineFormats sync.Once

func newValidator(doc *openapi3.T) (*validator, error) {
	defineFormats.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	})
	v := &validator{doc: doc, ops: map[string]*operation{}, opts: &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults: true,
	}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
				bare: op.RequestBody == nil}
			for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, p := range params {
					if p.Value == nil || p.Value.In == openapi3.ParameterInHeader || p.Value.In == openapi3.ParameterInCookie ||
						(p.Value.In == openapi3.ParameterInQuery && p.Value.Required) {
						o.bare = false
					}
				}
			}
			v.ops[method+" "+apiBase+path] = o
		}
	}
	return v, nil
}

// apiBase is the path the document's paths are served under.
const apiBase = "/v1"

// find returns the operation a request was routed to and its path
// parameters, from the router's own match when it has one.
func (v *validator) find(r *http.Request) (*operation, map[string]string, error) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if o := v.ops[r.Method+" "+rc.RoutePattern()]; o != nil {
			params := make(map[string]string, len(rc.URLParams.Keys))
			for i, k := range rc.URLParams.Keys {
				params[k] = rc.URLParams.Values[i]
			}
			return o, params, nil
		}
	}
	v.routerOnce.Do(func() {
		v.router, v.routerErr = gorillamux.NewRouter(v.doc)
	})
	if v.routerErr != nil {
		return nil, nil, fmt.Errorf("request validation router: %w", v.routerErr)
	}
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return nil, nil, err
	}
	return &operation{route: route}, params, nil
}

func (v *validator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, params, err := v.find(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if op.bare && r.URL.RawQuery == "" && r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: op.route, Options: v.opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
				return
			}
			writeError(w, http.StatusBadRequest, describe(err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// describe turns a validation error into a message that names the field
// and the rule broken.
func describe(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return err.Error()
	}
	var se *openapi3.SchemaError
	hasSchema := errors.As(re.Err, &se)
	switch {
	case re.Parameter != nil:
		where := re.Parameter.In + " parameter " + re.Parameter.Name
		if hasSchema {
			return fmt.Sprintf("%s: %s", where, schemaReason(se))
		}
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) {
			return fmt.Sprintf("%s: %s", where, pe.Reason)
		}
		if re.Err != nil {
			return fmt.Sprintf("%s: %s", where, re.Err.Error())
		}
		return fmt.Sprintf("%s: %s", where, re.Reason)
	case re.RequestBody != nil:
		if hasSchema {
			field := strings.Join(se.JSONPointer(), ".")
			if field == "" {
				return "request body: " + schemaReason(se)
			}
			return field + ": " + schemaReason(se)
		}
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) {
			return "request body is not valid JSON: " + pe.Reason
		}
		if re.Err != nil {
			msg := re.Err.Error()
			if strings.Contains(msg, "value is required but missing") {
				return "request body is required"
			}
			return "request body: " + msg
		}
		return "request body: " + re.Reason
	}
	return re.Error()
}

func schemaReason(se *openapi3.SchemaError) string {
	r := se.Reason
	if se.SchemaField != "" && !strings.Contains(r, se.SchemaField) {
		r += " (rule: " + se.SchemaField + ")"
	}
	return r
}
