// Package model holds dbaasd's domain types: what a project asked for
// (desired state) and what dbaasd observed, independent of the wire format
// (internal/httpapi) and of storage (internal/store). It has no behaviour beyond
// small derivations and imports nothing of dbaasd.
package model

import "time"

// Statuses of datastores and their resources, as the API reports them.
const (
	StatusActive        = "ACTIVE"
	StatusDeleted       = "DELETED"
	StatusDegraded      = "DEGRADED"
	StatusDiskFull      = "DISK_FULL"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"
	StatusDown          = "DOWN"
	StatusResizing      = "RESIZING"
)

// Base carries the fields every project resource has.
type Base struct {
	ID        string
	ProjectID string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Project is a tenant: every resource belongs to exactly one.
type Project struct {
	ID        string // 32 lowercase hex characters
	Name      string
	CreatedAt time.Time
}

// Token authenticates API calls for one project.
type Token struct {
	Hash      string // hex SHA-256 of the token value; the value is never stored
	ProjectID string
	Admin     bool
	Source    string // "static", "bootstrap" or "identity"
	UserName  string // identity user that logged in, if any
	ExpiresAt *time.Time
	CreatedAt time.Time
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}
