package model

// User is a database user in a datastore.
type User struct {
	Base
	DatastoreID string
	Name        string
	Password    string // secret; encrypted at rest, never returned
	Status      string
}

// Database is a database in a datastore.
type Database struct {
	Base
	DatastoreID string
	Name        string
	OwnerID     string
	LcCollate   string
	LcCtype     string
	Status      string
}

// Grant gives a user full use of a database.
type Grant struct {
	Base
	DatastoreID string
	DatabaseID  string
	UserID      string
	Status      string
}

// Extension is an extension installed in a database.
type Extension struct {
	Base
	DatastoreID          string
	DatabaseID           string
	AvailableExtensionID string
	Status               string
}

// Slot is a logical replication slot.
type Slot struct {
	Base
	DatastoreID string
	DatabaseID  string
	Name        string
	InUse       bool
	Size        int64
	Status      string
}

// Topic is a Kafka topic.
type Topic struct {
	Base
	DatastoreID string
	Name        string
	Partitions  int
	Status      string
}

// ACL is a Kafka access control list entry.
type ACL struct {
	Base
	DatastoreID string
	UserID      string
	Pattern     string
	PatternType string
	AllowRead   bool
	AllowWrite  bool
	Status      string
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
