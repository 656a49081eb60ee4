// Package crd holds Go types for the custom resources of the
// CloudNativePG operator (group postgresql.cnpg.io, version v1) that
// dbaasd's Kubernetes runtime reads and writes: Cluster, Database,
// Pooler and Backup.
//
// They mirror CloudNativePG v1.27.1 (config/crd/bases/*.yaml and
// api/v1/*_types.go of github.com/cloudnative-pg/cloudnative-pg, with the
// barman object store of github.com/cloudnative-pg/barman-cloud v0.3.3):
// the same field names and JSON tags, omitempty where CloudNativePG's
// types have it and not where they do not, so that what dbaasd writes to
// a cluster is what CloudNativePG's own Go types would write. They hold
// only the fields dbaasd uses. Objects are read and patched as JSON merge
// patches computed from these types, so a field that is not here is never
// sent and keeps the value the server holds; lists dbaasd rewrites whole
// (managed roles, a database's extensions) have every field of their
// element here, so that rewriting one element does not drop another's.
//
// dbaasd uses these instead of CloudNativePG's module, whose Go types
// bring in controller-runtime and client-go's typed clientset: their
// package initialisation cost an idle dbaasd about 20 MiB of resident
// memory, on every runtime, and its binary 43 MB, for a few dozen fields.
package crd

import "k8s.io/apimachinery/pkg/runtime/schema"

// Group and Version of CloudNativePG's resources.
const (
	Group      = "postgresql.cnpg.io"
	Version    = "v1"
	APIVersion = Group + "/" + Version
)

// The resources dbaasd uses.
var (
	ClusterResource  = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "clusters"}
	DatabaseResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "databases"}
	PoolerResource   = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "poolers"}
	BackupResource   = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "backups"}
)

// LocalObjectReference names an object in the same namespace
// (github.com/cloudnative-pg/machinery's, which CloudNativePG's api/v1
// aliases).
type LocalObjectReference struct {
	Name string `json:"name"`
}

// SecretKeySelector names a key of a secret in the same namespace.
type SecretKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
}

// EnsurePresent and EnsureAbsent are the values of the ensure fields of
// managed roles, databases and their extensions.
const (
	EnsurePresent = "present"
	EnsureAbsent  = "absent"
)
