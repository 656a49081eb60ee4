package model

import "time"

// Action statuses.
const (
	ActionPending    = "PENDING"
	ActionInProgress = "IN_PROGRESS"
	ActionSuccess    = "SUCCESS"
	ActionError      = "ERROR"
)

// Action names: the one list of the work an API call can ask for and the
// reconciler carries out. The service records them, the reconciler
// dispatches on them, the store orders them.
const (
	ActDatastoreCreate = "datastore.create"
	ActDatastoreDelete = "datastore.delete"
	ActDatastoreUpdate = "datastore.update" // converge config, firewall, pooler, password, floating IPs
	ActDatastoreResize = "datastore.resize"
	ActDatastoreRepair = "datastore.repair"
	// ActDatastoreBackup takes a base backup. It only reads from a running
	// server, so it runs beside the datastore's other work: health probes
	// go on while it runs, and a failover does not wait for it (the
	// backup's server may be the primary that failed).
	ActDatastoreBackup = "datastore.backup"
	// ActDatastoreFailover moves the primary role to a replica (recorded
	// by the reconciler when a primary stops answering).
	ActDatastoreFailover = "datastore.failover"

	ActUserCreate      = "user.create"
	ActUserUpdate      = "user.update"
	ActUserDelete      = "user.delete"
	ActDatabaseCreate  = "database.create"
	ActDatabaseUpdate  = "database.update"
	ActDatabaseDelete  = "database.delete"
	ActGrantCreate     = "grant.create"
	ActGrantDelete     = "grant.delete"
	ActExtensionCreate = "extension.create"
	ActExtensionDelete = "extension.delete"
	ActSlotCreate      = "slot.create"
	ActSlotDelete      = "slot.delete"
	ActTopicCreate     = "topic.create"
	ActTopicUpdate     = "topic.update"
	ActTopicDelete     = "topic.delete"
	ActACLCreate       = "acl.create"
	ActACLUpdate       = "acl.update"
	ActACLDelete       = "acl.delete"
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
