// Package api holds the contract of the Managed Databases API v1 served by dbaasd:
// the OpenAPI 3.0.3 document openapi.yaml, embedded in the binary.
package api

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is the OpenAPI 3.0.3 document of the Managed Databases API v1, as written in
// openapi.yaml. Its paths carry no /v1 prefix: the document's single server URL is
// /v1, so a path /datastores/{datastore_id} is served at /v1/datastores/{datastore_id}.
//
//go:embed openapi.yaml
var Spec []byte

// Load parses Spec and validates it as an OpenAPI document. Every call returns a
// new, independent document.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("api: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api: validate openapi.yaml: %w", err)
	}
	return doc, nil
}
