// Package catalog derives what dbaasd offers from the machine and the
// installed engines: datastore types (engine and version, as the binaries
// report them), configuration parameters and extensions (from each engine's
// own catalog), flavors sized to this machine, and per-engine limits. It also
// evaluates the flavor-dependent templates of parameter bounds.
//
// Nothing here is typed in by hand per engine version: Sync asks the
// drivers and writes the result to the store with stable IDs.
package catalog

import (
	"github.com/google/uuid"
)

// namespace makes catalog IDs stable across restarts and replicas.
var namespace = uuid.MustParse("6d1a8a4e-4b0f-4c2c-9d7e-6f1f3b1d2a10")

// TypeID is the stable ID of a datastore type.
func TypeID(engine, version string) string {
	return uuid.NewSHA1(namespace, []byte("type/"+engine+"/"+version)).String()
}

// ParameterID is the stable ID of a configuration parameter of a type.
func ParameterID(typeID, name string) string {
	return uuid.NewSHA1(namespace, []byte("param/"+typeID+"/"+name)).String()
}

// ExtensionID is the stable ID of an available extension.
func ExtensionID(name string) string {
	return uuid.NewSHA1(namespace, []byte("extension/"+name)).String()
}

// FlavorID is the stable ID of a generated flavor.
func FlavorID(name string) string {
	return uuid.NewSHA1(namespace, []byte("flavor/"+name)).String()
}
