package api

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
)

// validator checks requests against the OpenAPI document before they reach
// a handler, so handlers see only well-formed input.
type validator struct {
	router routers.Router
	opts   *openapi3filter.Options
}

var defineFormats sync.Once

func newValidator(doc *openapi3.T) (*validator, error) {
	defineFormats.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	})
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("request validation router: %w", err)
	}
	return &validator{router: r, opts: &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults: true,
	}}, nil
}

func (v *validator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := v.router.FindRoute(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.opts}
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
