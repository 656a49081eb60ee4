// Package gen is generated from api/openapi.yaml by oapi-codegen: the wire
// types, the chi router and the strict server interface. Do not edit gen.go;
// run `make generate`.
package gen

//go:generate go tool oapi-codegen -config config.yaml ../../../api/openapi.yaml
