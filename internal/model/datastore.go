package model

import "time"

// Flavor is the size of each node of a datastore.
type Flavor struct {
	VCPUs    int
	RAM      int // MB
	Disk     int // GB
	DiskType string
}

// Pooler is a datastore's connection pooler settings.
type Pooler struct {
	Mode string
	Size int
}

// Restore names the backup a datastore is created from.
type Restore struct {
	DatastoreID string
	TargetTime  *time.Time // nil = latest
}

// FloatingIPs is how many floating IPs a new datastore wants per role.
type FloatingIPs struct {
	Master  int
	Replica int
}

// Datastore is a database cluster.
type Datastore struct {
	Base
	Name                string
	TypeID              string
	SubnetID            string
	FlavorID            string
	Flavor              Flavor
	NodeCount           int
	Status              string
	Enabled             bool
	IsProtected         bool
	IsMaintenance       bool
	AllowRestore        bool
	BackupRetentionDays int
	Config              map[string]any
	Firewall            []string
	Pooler              *Pooler // nil = no pooler
	PoolerPort          int
	LogGroup            string // "" = log export disabled
	SecurityGroups      []string
	RedisPassword       string // secret; encrypted at rest
	AdminPassword       string // secret generated for dbaasd's own engine access; encrypted at rest
	Restore             *Restore
	FloatingIPs         FloatingIPs
	DiskUsed            int64 // bytes
	CreationFinishedAt  *time.Time
	Deleted             bool
	DeletedAt           *time.Time
	// Generation counts changes of desired state; ObservedGeneration is the
	// last generation the reconciler converged.
	Generation         int64
	ObservedGeneration int64
}

// Instance is one node of a datastore.
type Instance struct {
	ID               string
	ProjectID        string
	DatastoreID      string
	Index            int
	Role             string // MASTER, REPLICA, UNKNOWN
	RoleName         string
	Status           string
	Host             string
	Port             int
	FloatingIP       string
	Hostname         string
	AvailabilityZone string
	CreatedAt        time.Time
}

// Instance roles.
const (
	RoleMaster  = "MASTER"
	RoleReplica = "REPLICA"
	RoleUnknown = "UNKNOWN"
)
