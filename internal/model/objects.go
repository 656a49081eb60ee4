package model

// Object is what every object inside a datastore records besides its own
// fields: users, databases, grants, extensions, logical replication slots,
// topics and ACLs. The reconciler and the service handle every kind through
// it (see ObjectKind).
type Object struct {
	Base
	DatastoreID string
	Status      string
}

// Head returns the common part of an object.
func (o *Object) Head() *Object { return o }

// Objecter is implemented by every kind of object inside a datastore.
type Objecter interface{ Head() *Object }

// ObjectKind names one kind of object inside a datastore: the resource type
// its actions carry and the names of those actions (Update is empty when
// the kind cannot be changed in place).
type ObjectKind struct {
	Resource, Create, Update, Delete string
}

// The kinds of objects inside a datastore, in the order they depend on each
// other: a grant needs its user and database, an extension or a slot its
// database, an ACL its user.
var (
	KindUser      = ObjectKind{"user", ActUserCreate, ActUserUpdate, ActUserDelete}
	KindDatabase  = ObjectKind{"database", ActDatabaseCreate, ActDatabaseUpdate, ActDatabaseDelete}
	KindGrant     = ObjectKind{"grant", ActGrantCreate, "", ActGrantDelete}
	KindExtension = ObjectKind{"extension", ActExtensionCreate, "", ActExtensionDelete}
	KindSlot      = ObjectKind{"logical-replication-slot", ActSlotCreate, "", ActSlotDelete}
	KindTopic     = ObjectKind{"topic", ActTopicCreate, ActTopicUpdate, ActTopicDelete}
	KindACL       = ObjectKind{"acl", ActACLCreate, ActACLUpdate, ActACLDelete}
)

// User is a database user in a datastore.
type User struct {
	Object
	Name     string
	Password string // secret; encrypted at rest, never returned
}

// Database is a database in a datastore.
type Database struct {
	Object
	Name      string
	OwnerID   string
	LcCollate string
	LcCtype   string
}

// Grant gives a user full use of a database.
type Grant struct {
	Object
	DatabaseID string
	UserID     string
}

// Extension is an extension installed in a database.
type Extension struct {
	Object
	DatabaseID           string
	AvailableExtensionID string
}

// Slot is a logical replication slot.
type Slot struct {
	Object
	DatabaseID string
	Name       string
	InUse      bool
	Size       int64
}

// Topic is a Kafka topic.
type Topic struct {
	Object
	Name       string
	Partitions int
}

// ACL is a Kafka access control list entry.
type ACL struct {
	Object
	UserID      string
	Pattern     string
	PatternType string
	AllowRead   bool
	AllowWrite  bool
}

// MetricsToken lets a Prometheus server scrape a project's metrics.
type MetricsToken struct {
	Base
	Name string
	// ValueHash is the keyed hash of the value the exporter finds a token
	// by (secret.Hasher; secret.LegacyPrefix + bare SHA-256 for a token
	// issued before values were kept, until its value is next presented).
	ValueHash string
	// Value is the token itself, stored sealed; empty for a legacy token
	// until its value is next presented.
	Value string
}
