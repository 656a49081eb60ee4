// Package store keeps dbaasd's durable state: what each project asked for,
// what the reconciler observed, the catalogs, tokens and the action queue.
//
// Store is the interface the rest of dbaasd uses. DB implements it over SQL
// with two dialects: SQLite (embedded default, pure Go) and PostgreSQL (for
// several dbaasd replicas). Both run the same migrations and pass the same
// conformance suite (package storetest). No SQL type leaves this package.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// Filter selects records by equality on the fields it sets; the zero
// Filter selects every record. A repository refuses a field its records do
// not have. Its fields are Go fields: the HTTP layer maps each query
// parameter to one, and only this package knows the columns behind them.
type Filter struct {
	ID, ProjectID, DatastoreID, DatabaseID, UserID, OwnerID           string
	TypeID, DatastoreTypeID, FlavorID, SubnetID, AvailableExtensionID string
	Name, Status, Engine, Version, FlSize, RequestID, ResourceType    string
	Pattern, PatternType, ValueHash                                   string
	Enabled, Deleted, AllowRestore, IsMaintenance, IsProtected, InUse Flag
	// NodeCount, when not 0, is the number of nodes.
	NodeCount int
	// Nothing selects no record (a filter on another project's records).
	Nothing bool
}

// Flag is a yes-or-no condition of a Filter; the zero value is Any.
type Flag int8

// Flags.
const (
	Any Flag = iota
	Yes
	No
)

// FlagOf returns Yes for true and No for false.
func FlagOf(b bool) Flag {
	if b {
		return Yes
	}
	return No
}

// cond is one equality of a filter, on a column.
type cond struct {
	col string
	val any
}

// conds lists the equalities f asks for, in a fixed order (so that one
// filter shape is one SQL text).
func (f Filter) conds() []cond {
	var c []cond
	str := func(col, v string) {
		if v != "" {
			c = append(c, cond{col, v})
		}
	}
	flag := func(col string, v Flag) {
		if v != Any {
			c = append(c, cond{col, v == Yes})
		}
	}
	str("id", f.ID)
	str("project_id", f.ProjectID)
	str("datastore_id", f.DatastoreID)
	str("database_id", f.DatabaseID)
	str("user_id", f.UserID)
	str("owner_id", f.OwnerID)
	str("type_id", f.TypeID)
	str("datastore_type_id", f.DatastoreTypeID)
	str("flavor_id", f.FlavorID)
	str("subnet_id", f.SubnetID)
	str("available_extension_id", f.AvailableExtensionID)
	str("name", f.Name)
	str("status", f.Status)
	str("engine", f.Engine)
	str("version", f.Version)
	str("fl_size", f.FlSize)
	str("request_id", f.RequestID)
	str("resource_type", f.ResourceType)
	str("pattern", f.Pattern)
	str("pattern_type", f.PatternType)
	str("value_hash", f.ValueHash)
	flag("enabled", f.Enabled)
	flag("deleted", f.Deleted)
	flag("allow_restore", f.AllowRestore)
	flag("is_maintenance", f.IsMaintenance)
	flag("is_protected", f.IsProtected)
	flag("in_use", f.InUse)
	if f.NodeCount != 0 {
		c = append(c, cond{"node_count", f.NodeCount})
	}
	return c
}

// Repo reads and writes one kind of record.
type Repo[T any] interface {
	// Get returns the record with this ID, or ErrNotFound.
	Get(ctx context.Context, id string) (*T, error)
	// GetForUpdate is Get that also locks the record until the transaction
	// ends (where the database supports row locks).
	GetForUpdate(ctx context.Context, id string) (*T, error)
	// List returns the records matching f, oldest first.
	List(ctx context.Context, f Filter) ([]T, error)
	// Count returns how many records match f.
	Count(ctx context.Context, f Filter) (int, error)
	// Insert adds a record; ErrConflict if it breaks a uniqueness rule.
	Insert(ctx context.Context, v *T) error
	// Update overwrites a record; ErrNotFound if it does not exist.
	Update(ctx context.Context, v *T) error
	// Delete removes a record; ErrNotFound if it does not exist.
	Delete(ctx context.Context, id string) error
	// CountBy counts the records matching f by the value of one field.
	CountBy(ctx context.Context, f Filter, field string) (map[string]int, error)
}

// Reader reads one kind of record.
type Reader[T any] interface {
	Get(ctx context.Context, id string) (*T, error)
	List(ctx context.Context, f Filter) ([]T, error)
	Count(ctx context.Context, f Filter) (int, error)
	// CountBy counts the records matching f by the value of one field.
	CountBy(ctx context.Context, f Filter, field string) (map[string]int, error)
}

// Usage is what a project uses, for quotas.
type Usage struct {
	Datastores       int64
	Cores            int64
	RAM              int64 // MB
	DiskLocal        int64 // GB
	DiskNetworkUltra int64 // GB
	Databases        int64
	Users            int64
	Topics           int64
	ACLs             int64
	FirewallRules    int64
	MetricsTokens    int64
}

// Tx is the set of operations available inside (and outside) a transaction.
type Tx interface {
	Projects() Repo[model.Project]
	DatastoreTypes() Repo[model.DatastoreType]
	Flavors() Repo[model.FlavorSpec]
	ConfigurationParameters() Repo[model.ConfigurationParameter]
	AvailableExtensions() Repo[model.AvailableExtension]
	Datastores() Repo[model.Datastore]
	// DatastoresWithoutSecrets reads datastores without opening their
	// secrets (RedisPassword and AdminPassword stay empty): for answers to
	// clients, which never show them.
	DatastoresWithoutSecrets() Reader[model.Datastore]
	// DatastoreSummaries reads only the identity and state of datastores:
	// ID, ProjectID, Name, TypeID, FlavorID, NodeCount, Status,
	// AllowRestore, BackupRetentionDays, LogGroup, CreationFinishedAt,
	// Deleted, DeletedAt, Generation, CreatedAt and UpdatedAt; other fields
	// stay empty. Periodic loops over every datastore use it.
	DatastoreSummaries() Reader[model.Datastore]
	Instances() Repo[model.Instance]
	Users() Repo[model.User]
	Databases() Repo[model.Database]
	Grants() Repo[model.Grant]
	Extensions() Repo[model.Extension]
	Slots() Repo[model.Slot]
	Topics() Repo[model.Topic]
	ACLs() Repo[model.ACL]
	MetricsTokens() Repo[model.MetricsToken]
	Actions() Repo[model.Action]

	// LockProject serialises writers of one project until the transaction
	// ends, so that quota checks hold under concurrent requests.
	LockProject(ctx context.Context, projectID string) error
	// Usage sums what a project uses (deleted datastores excluded): only
	// the named quota resources when some are named, else all of them.
	Usage(ctx context.Context, projectID string, only ...string) (Usage, error)
	// Quotas returns a project's explicit quota limits by resource name.
	Quotas(ctx context.Context, projectID string) (map[string]int64, error)
	// SetQuota sets one quota limit of a project.
	SetQuota(ctx context.Context, q model.Quota) error

	// PutToken stores (or replaces) a token by its hash.
	PutToken(ctx context.Context, t model.Token) error
	// Token returns the token with this hash, or ErrNotFound.
	Token(ctx context.Context, hash string) (*model.Token, error)
	// DeleteToken removes a token; deleting a missing token is not an error.
	DeleteToken(ctx context.Context, hash string) error
	// CountTokens counts stored tokens of a source ("" = all).
	CountTokens(ctx context.Context, source string) (int, error)
	// PruneTokens removes the tokens of a source whose hash is not in keep.
	PruneTokens(ctx context.Context, source string, keep []string) error
	// DeleteExpiredTokens removes tokens that expired before now.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error)
	// AuthToken returns the token with this hash together with the
	// version of its project (ProjectVersion), both read at once; or
	// ErrNotFound.
	AuthToken(ctx context.Context, hash string) (*model.Token, int64, error)
	// RehashToken replaces a token's hash (a legacy hash by a keyed one).
	RehashToken(ctx context.Context, oldHash, newHash string) error
	// CountLegacyTokens counts tokens still stored under a legacy
	// (unkeyed) hash.
	CountLegacyTokens(ctx context.Context) (int, error)

	// ProjectVersion returns the version of a project's records: a number
	// that grows in the same transaction as every write of a row of the
	// project in VersionedTables, whoever writes it (0 before the first).
	// An answer built from rows read after the version was read is
	// current for as long as the version stays the same.
	ProjectVersion(ctx context.Context, projectID string) (int64, error)

	// AllocatePort reserves a free port on host in [lo, hi] for an owner
	// (e.g. an instance ID) of a datastore; isFree is asked whether the port
	// is free on the machine. Allocating again for the same owner returns
	// the same port.
	AllocatePort(ctx context.Context, host string, lo, hi int, datastoreID, owner string, isFree func(int) bool) (int, error)
	// ReleasePorts frees the ports of a datastore's owners (all when owners
	// is empty), with their further ports (owners "<owner>/<name>").
	ReleasePorts(ctx context.Context, datastoreID string, owners ...string) error

	// ClaimAction leases the oldest runnable action to owner until
	// leaseUntil: one that is pending (or whose lease expired) and has no
	// earlier unfinished action on the same datastore; a backup only while
	// fewer than maxBackups backups run under a live lease (0: no limit),
	// so that backups never hold every worker. nil when none.
	ClaimAction(ctx context.Context, owner string, now, leaseUntil time.Time, maxBackups int) (*model.Action, error)
	// RenewLease extends an action's lease if owner still holds it.
	RenewLease(ctx context.Context, actionID, owner string, leaseUntil time.Time) error
}

// Store is dbaasd's durable state.
type Store interface {
	Tx
	Leases
	Telemetry
	Backups
	// DatastoreSnapshot returns the summary of every datastore with the
	// version it is current for: periodic loops re-derive their work only
	// when the version changed.
	DatastoreSnapshot(ctx context.Context) (DatastoreSnapshot, error)
	// InTx runs fn in one transaction, committed if fn returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Dialect names the database behind the store ("sqlite" or "postgres").
	Dialect() string
	// Close releases the store.
	Close() error
}

// Sealer encrypts secrets at rest. The store seals secret fields on write
// and opens them on read, so secrets are never stored in the clear.
type Sealer interface {
	Seal(plaintext string) (string, error)
	Open(sealed string) (string, error)
}
