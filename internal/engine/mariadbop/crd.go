package mariadbop

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// The part of mariadb-operator's API (k8s.mariadb.com/v1alpha1) dbaasd
// writes and reads. Objects are patched with what these types hold (see
// kube.Client.Apply): the fields they lack keep the operator's defaults.

var mariadbRes = kube.Kind{
	GVR:  schema.GroupVersionResource{Group: "k8s.mariadb.com", Version: "v1alpha1", Resource: "mariadbs"},
	Kind: "MariaDB",
}

// MariaDB is a MariaDB server or cluster.
type MariaDB struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              MariaDBSpec   `json:"spec"`
	Status            MariaDBStatus `json:"status,omitempty"`
}

// MariaDBSpec is what dbaasd sets of a MariaDB.
type MariaDBSpec struct {
	Image                    string                       `json:"image,omitempty"`
	ImagePullPolicy          string                       `json:"imagePullPolicy,omitempty"`
	Resources                *corev1.ResourceRequirements `json:"resources,omitempty"`
	RootPasswordSecretKeyRef SecretKeyRef                 `json:"rootPasswordSecretKeyRef"`
	MyCnf                    *string                      `json:"myCnf,omitempty"`
	Storage                  Storage                      `json:"storage"`
	Replicas                 int32                        `json:"replicas,omitempty"`
	Replication              *Replication                 `json:"replication,omitempty"`
	Galera                   *Galera                      `json:"galera,omitempty"`
	TLS                      *TLS                         `json:"tls,omitempty"`
	// Suspend stops the operator reconciling the MariaDB (Stop).
	Suspend bool `json:"suspend,omitempty"`
}

// SecretKeyRef names a key of a secret in the MariaDB's namespace.
type SecretKeyRef struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Generate bool   `json:"generate,omitempty"`
}

// Storage is the servers' volumes.
type Storage struct {
	Size               *resource.Quantity `json:"size,omitempty"`
	StorageClassName   string             `json:"storageClassName,omitempty"`
	ResizeInUseVolumes *bool              `json:"resizeInUseVolumes,omitempty"`
}

// Replication is asynchronous (semi-synchronous here) replication from a
// primary, with the operator's automatic failover.
type Replication struct {
	Enabled bool `json:"enabled"`
}

// Galera is a multi-primary synchronous cluster.
type Galera struct {
	Enabled bool `json:"enabled"`
}

// TLS of the servers: the operator issues the certificates from a CA of
// the datastore's own.
type TLS struct {
	Enabled bool `json:"enabled"`
	// GaleraSSTEnabled encrypts Galera's full state transfers too.
	GaleraSSTEnabled *bool `json:"galeraSSTEnabled,omitempty"`
}

// MariaDBStatus is what the operator reports.
type MariaDBStatus struct {
	Conditions             []metav1.Condition `json:"conditions,omitempty"`
	Replicas               int32              `json:"replicas,omitempty"`
	CurrentPrimary         *string            `json:"currentPrimary,omitempty"`
	CurrentPrimaryPodIndex *int               `json:"currentPrimaryPodIndex,omitempty"`
	Replication            *ReplicationStatus `json:"replication,omitempty"`
}

// ReplicationStatus is the operator's view of each server's role.
type ReplicationStatus struct {
	Roles map[string]string `json:"roles,omitempty"`
}

// Conditions and roles the operator reports.
const (
	conditionReady = "Ready"
	rolePrimary    = "Primary"
)
