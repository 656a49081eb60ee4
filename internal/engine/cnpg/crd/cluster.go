package crd

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster is a PostgreSQL cluster run by the operator.
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	Spec   ClusterSpec   `json:"spec"`
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterSpec is the part of a Cluster's spec dbaasd sets.
type ClusterSpec struct {
	ImageName             string                      `json:"imageName,omitempty"`
	ImagePullPolicy       corev1.PullPolicy           `json:"imagePullPolicy,omitempty"`
	PostgresUID           int64                       `json:"postgresUID,omitempty"`
	PostgresGID           int64                       `json:"postgresGID,omitempty"`
	Instances             int                         `json:"instances"`
	PostgresConfiguration PostgresConfiguration       `json:"postgresql,omitempty"`
	Bootstrap             *BootstrapConfiguration     `json:"bootstrap,omitempty"`
	SuperuserSecret       *LocalObjectReference       `json:"superuserSecret,omitempty"`
	EnableSuperuserAccess *bool                       `json:"enableSuperuserAccess,omitempty"`
	StorageConfiguration  StorageConfiguration        `json:"storage,omitempty"`
	SmartShutdownTimeout  *int32                      `json:"smartShutdownTimeout,omitempty"`
	Affinity              AffinityConfiguration       `json:"affinity,omitempty"`
	Resources             corev1.ResourceRequirements `json:"resources,omitempty"`
	PrimaryUpdateStrategy string                      `json:"primaryUpdateStrategy,omitempty"`
	Backup                *BackupConfiguration        `json:"backup,omitempty"`
	ExternalClusters      []ExternalCluster           `json:"externalClusters,omitempty"`
	Managed               *ManagedConfiguration       `json:"managed,omitempty"`
}

// PrimaryUpdateStrategyUnsupervised lets the operator restart or switch
// over the primary on its own during a rolling update.
const PrimaryUpdateStrategyUnsupervised = "unsupervised"

// PostgresConfiguration is the servers' configuration.
type PostgresConfiguration struct {
	Parameters  map[string]string                `json:"parameters,omitempty"`
	Synchronous *SynchronousReplicaConfiguration `json:"synchronous,omitempty"`
	PgHBA       []string                         `json:"pg_hba,omitempty"`
	// SyncReplicaElectionConstraint is a struct, not a pointer, in
	// CloudNativePG's Go type: it is always written ({"enabled": false}).
	SyncReplicaElectionConstraint SyncReplicaElectionConstraints `json:"syncReplicaElectionConstraint,omitempty"`
}

// SynchronousReplicaConfiguration is quorum-based synchronous replication.
type SynchronousReplicaConfiguration struct {
	Method         string `json:"method"`
	Number         int    `json:"number"`
	DataDurability string `json:"dataDurability,omitempty"`
}

// Synchronous replication: commits wait for any Number replicas, and
// keep being accepted when fewer are there.
const (
	SynchronousMethodAny    = "any"
	DataDurabilityPreferred = "preferred"
)

// SyncReplicaElectionConstraints restrict which replicas may be
// synchronous (dbaasd sets none).
type SyncReplicaElectionConstraints struct {
	Enabled bool `json:"enabled"`
}

// AffinityConfiguration is where the instances' pods are scheduled.
// dbaasd sets none of it; it is a struct, not a pointer, in
// CloudNativePG's Go type, so a new Cluster is written with "affinity":
// {} (the operator's defaults).
type AffinityConfiguration struct{}

// StorageConfiguration is the instances' data volume.
type StorageConfiguration struct {
	StorageClass *string `json:"storageClass,omitempty"`
	Size         string  `json:"size,omitempty"`
}

// BootstrapConfiguration is how a new cluster starts: from initdb or by
// recovery from a backup.
type BootstrapConfiguration struct {
	InitDB   *BootstrapInitDB   `json:"initdb,omitempty"`
	Recovery *BootstrapRecovery `json:"recovery,omitempty"`
}

// BootstrapInitDB is a new cluster's initdb and its application
// database and owner.
type BootstrapInitDB struct {
	Database string                `json:"database,omitempty"`
	Owner    string                `json:"owner,omitempty"`
	Secret   *LocalObjectReference `json:"secret,omitempty"`
}

// BootstrapRecovery starts a cluster from a base backup and WAL of an
// external cluster's object store.
type BootstrapRecovery struct {
	Source         string                `json:"source,omitempty"`
	RecoveryTarget *RecoveryTarget       `json:"recoveryTarget,omitempty"`
	Database       string                `json:"database,omitempty"`
	Owner          string                `json:"owner,omitempty"`
	Secret         *LocalObjectReference `json:"secret,omitempty"`
}

// RecoveryTarget is where recovery stops.
type RecoveryTarget struct {
	BackupID   string `json:"backupID,omitempty"`
	TargetTime string `json:"targetTime,omitempty"`
}

// BackupConfiguration is where the cluster archives WAL and base backups.
type BackupConfiguration struct {
	BarmanObjectStore *BarmanObjectStoreConfiguration `json:"barmanObjectStore,omitempty"`
	// RetentionPolicy is barman's recovery window ("7d"): after each
	// backup the instance that took it deletes the base backups and WAL
	// no point in the window needs.
	RetentionPolicy string `json:"retentionPolicy,omitempty"`
}

// ExternalCluster is another cluster, here the object store a new one
// recovers from.
type ExternalCluster struct {
	Name              string                          `json:"name"`
	BarmanObjectStore *BarmanObjectStoreConfiguration `json:"barmanObjectStore,omitempty"`
}

// ManagedConfiguration holds the roles the operator keeps in the servers.
type ManagedConfiguration struct {
	Roles []RoleConfiguration `json:"roles,omitempty"`
}

// RoleConfiguration is a managed role, with every field CloudNativePG
// has: dbaasd rewrites the list whole.
type RoleConfiguration struct {
	Name            string                `json:"name"`
	Comment         string                `json:"comment,omitempty"`
	Ensure          string                `json:"ensure,omitempty"`
	PasswordSecret  *LocalObjectReference `json:"passwordSecret,omitempty"`
	ConnectionLimit int64                 `json:"connectionLimit,omitempty"`
	ValidUntil      *metav1.Time          `json:"validUntil,omitempty"`
	InRoles         []string              `json:"inRoles,omitempty"`
	Inherit         *bool                 `json:"inherit,omitempty"`
	DisablePassword bool                  `json:"disablePassword,omitempty"`
	Superuser       bool                  `json:"superuser,omitempty"`
	CreateDB        bool                  `json:"createdb,omitempty"`
	CreateRole      bool                  `json:"createrole,omitempty"`
	Login           bool                  `json:"login,omitempty"`
	Replication     bool                  `json:"replication,omitempty"`
	BypassRLS       bool                  `json:"bypassrls,omitempty"`
}

// ClusterStatus is the part of the operator's report dbaasd reads.
type ClusterStatus struct {
	ReadyInstances                      int                              `json:"readyInstances,omitempty"`
	InstancesReportedState              map[string]InstanceReportedState `json:"instancesReportedState,omitempty"`
	ManagedRolesStatus                  ManagedRoles                     `json:"managedRolesStatus,omitempty"`
	CurrentPrimary                      string                           `json:"currentPrimary,omitempty"`
	TargetPrimary                       string                           `json:"targetPrimary,omitempty"`
	Phase                               string                           `json:"phase,omitempty"`
	CurrentPrimaryFailingSinceTimestamp string                           `json:"currentPrimaryFailingSinceTimestamp,omitempty"`
	Conditions                          []metav1.Condition               `json:"conditions,omitempty"`
	InstanceNames                       []string                         `json:"instanceNames,omitempty"`
}

// Phases and conditions of a Cluster's status.
const (
	PhaseHealthy               = "Cluster in healthy state"
	PhaseApplyingConfiguration = "Applying configuration"
	ConditionClusterReady      = "Ready"
)

// InstanceReportedState is what an instance last told the operator.
type InstanceReportedState struct {
	IsPrimary bool `json:"isPrimary"`
}

// ManagedRoles is the state of the managed roles in the servers.
type ManagedRoles struct {
	ByStatus        map[string][]string      `json:"byStatus,omitempty"`
	CannotReconcile map[string][]string      `json:"cannotReconcile,omitempty"`
	PasswordStatus  map[string]PasswordState `json:"passwordStatus,omitempty"`
}

// RoleStatusReconciled is the ByStatus key of roles that match the spec.
const RoleStatusReconciled = "reconciled"

// PasswordState is the version of a role's password secret the operator
// applied.
type PasswordState struct {
	SecretResourceVersion string `json:"resourceVersion,omitempty"`
}
