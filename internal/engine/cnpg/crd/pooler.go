package crd

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pooler is a PgBouncer deployment in front of a cluster.
type Pooler struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	Spec PoolerSpec `json:"spec"`
}

// PoolerSpec is the part of a Pooler's spec dbaasd sets.
type PoolerSpec struct {
	Cluster   LocalObjectReference `json:"cluster"`
	Type      string               `json:"type,omitempty"`
	Instances *int32               `json:"instances,omitempty"`
	Template  *PodTemplateSpec     `json:"template,omitempty"`
	PgBouncer *PgBouncerSpec       `json:"pgbouncer"`
}

// PoolerTypeRW is a pooler in front of the primary.
const PoolerTypeRW = "rw"

// PgBouncerSpec is PgBouncer's configuration.
type PgBouncerSpec struct {
	PoolMode   string            `json:"poolMode,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	PgHBA      []string          `json:"pg_hba,omitempty"`
	// AuthQuery and AuthQuerySecret (a basic-auth secret of the role
	// that runs it) replace the operator's own lookup: with them set, the
	// operator neither makes its lookup role nor its function.
	AuthQuery       string                `json:"authQuery,omitempty"`
	AuthQuerySecret *LocalObjectReference `json:"authQuerySecret,omitempty"`
}

// PodTemplateSpec is the template of the pooler's pods.
type PodTemplateSpec struct {
	ObjectMeta Metadata       `json:"metadata,omitempty"`
	Spec       corev1.PodSpec `json:"spec,omitempty"`
}

// Metadata is the metadata of the pods of a template.
type Metadata struct {
	Annotations map[string]string `json:"annotations,omitempty"`
}
