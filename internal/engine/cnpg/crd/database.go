package crd

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Database is a database the operator keeps in a cluster.
type Database struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	Spec   DatabaseSpec   `json:"spec"`
	Status DatabaseStatus `json:"status,omitempty"`
}

// DatabaseSpec is the part of a Database's spec dbaasd sets.
type DatabaseSpec struct {
	ClusterRef    corev1.LocalObjectReference `json:"cluster"`
	Ensure        string                      `json:"ensure,omitempty"`
	Name          string                      `json:"name"`
	Owner         string                      `json:"owner"`
	Template      string                      `json:"template,omitempty"`
	LcCollate     string                      `json:"localeCollate,omitempty"`
	LcCtype       string                      `json:"localeCType,omitempty"`
	ReclaimPolicy string                      `json:"databaseReclaimPolicy,omitempty"`
	Extensions    []ExtensionSpec             `json:"extensions,omitempty"`
}

// DatabaseReclaimDelete drops the database when its object goes.
const DatabaseReclaimDelete = "delete"

// ExtensionSpec is an extension of a database, with every field
// CloudNativePG has: dbaasd rewrites the list whole.
type ExtensionSpec struct {
	DatabaseObjectSpec `json:",inline"`
	Version            string `json:"version,omitempty"`
	Schema             string `json:"schema,omitempty"`
}

// DatabaseObjectSpec names an object of a database and whether it exists.
type DatabaseObjectSpec struct {
	Name   string `json:"name"`
	Ensure string `json:"ensure"`
}

// DatabaseStatus is what the operator reports of a Database.
type DatabaseStatus struct {
	ObservedGeneration int64                  `json:"observedGeneration,omitempty"`
	Applied            *bool                  `json:"applied,omitempty"`
	Message            string                 `json:"message,omitempty"`
	Extensions         []DatabaseObjectStatus `json:"extensions,omitempty"`
}

// DatabaseObjectStatus is whether an object of a database was applied.
type DatabaseObjectStatus struct {
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
	Message string `json:"message,omitempty"`
}
