package crd

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Backup is a base backup the operator takes of a cluster.
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`

	Spec   BackupSpec   `json:"spec"`
	Status BackupStatus `json:"status,omitempty"`
}

// BackupSpec is what to back up, and how.
type BackupSpec struct {
	Cluster LocalObjectReference `json:"cluster"`
	Method  string               `json:"method,omitempty"`
}

// BackupMethodBarmanObjectStore backs up with barman-cloud into the
// cluster's object store.
const BackupMethodBarmanObjectStore = "barmanObjectStore"

// BackupStatus is what the operator reports of a Backup.
type BackupStatus struct {
	DestinationPath string       `json:"destinationPath,omitempty"`
	ServerName      string       `json:"serverName,omitempty"`
	BackupID        string       `json:"backupId,omitempty"`
	Phase           string       `json:"phase,omitempty"`
	StartedAt       *metav1.Time `json:"startedAt,omitempty"`
	StoppedAt       *metav1.Time `json:"stoppedAt,omitempty"`
	BeginWal        string       `json:"beginWal,omitempty"`
	EndWal          string       `json:"endWal,omitempty"`
	BeginLSN        string       `json:"beginLSN,omitempty"`
	EndLSN          string       `json:"endLSN,omitempty"`
	Error           string       `json:"error,omitempty"`
}

// Phases of a Backup.
const (
	BackupPhaseCompleted = "completed"
	BackupPhaseFailed    = "failed"
)
