package model

import "time"

// Action statuses.
const (
	ActionPending    = "PENDING"
	ActionInProgress = "IN_PROGRESS"
	ActionSuccess    = "SUCCESS"
	ActionError      = "ERROR"
)

// Names of the actions other packages reason about.
const (
	// ActionNameBackup takes a base backup. It only reads from a running
	// server, so it runs beside the datastore's other work: health probes
	// go on while it runs, and a failover does not wait for it (the
	// backup's server may be the primary that failed).
	ActionNameBackup = "datastore.backup"
	// ActionNameFailover promotes a replica after the primary failed.
	ActionNameFailover = "datastore.failover"
)

// Action is one change a project asked for, carried out by the reconciler.
type Action struct {
	Base
	DatastoreID  string
	Name         string // e.g. "datastore.create", "user.delete"
	ResourceType string
	ResourceID   string
	Status       string
	RequestID    string
	Payload      map[string]any // what the action needs beyond desired state
	Error        string
	Progress     int
	Attempts     int // times a worker claimed it
	Failures     int // attempts that ended in an error
	LeaseOwner   string
	LeaseUntil   *time.Time
	NotBefore    *time.Time // retry back-off
	StartTime    *time.Time
	FinishTime   *time.Time
}

// Finished reports whether the action reached a final status.
func (a *Action) Finished() bool {
	return a.Status == ActionSuccess || a.Status == ActionError
}
