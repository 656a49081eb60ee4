package store

import (
	"context"
	"time"
)

// Kinds of samples.
const (
	// SampleInstance is a sample of one instance (node) of a datastore;
	// its key is the instance ID.
	SampleInstance = "instance"
	// SampleDatabase is a sample of one database (keyspace, topic) of a
	// datastore; its key is the database name.
	SampleDatabase = "database"
)

// Sample is what the metrics collector measured of one instance or one
// database at one time.
type Sample struct {
	DatastoreID string
	Kind        string // SampleInstance or SampleDatabase
	Key         string // instance ID or database name
	IP          string // address of the instance measured
	TS          time.Time
	// Values are the measurements by metric name. Values that are not
	// finite numbers (NaN, ±Inf) are not stored.
	Values map[string]float64
}

// LogOffset is how far the log shipper got in one log file.
type LogOffset struct {
	DatastoreID string
	Path        string
	LogGroup    string // the log group the lines were shipped to
	FileID      string // identity of the file the offset is in (device and inode)
	Offset      int64  // bytes shipped from the start of the file
	UpdatedAt   time.Time
}

// Telemetry keeps the time series of the metrics collector and the state
// of log export.
type Telemetry interface {
	// InsertSamples stores samples; a sample already stored (same
	// datastore, kind, key and time) is kept as it was.
	InsertSamples(ctx context.Context, samples []Sample) error
	// QuerySamples returns the samples of one datastore and kind taken in
	// [from, to], oldest first (then by key).
	QuerySamples(ctx context.Context, datastoreID, kind string, from, to time.Time) ([]Sample, error)
	// PruneSamples removes the samples taken before a time and reports
	// how many it removed.
	PruneSamples(ctx context.Context, before time.Time) (int64, error)

	// LogOffsets returns every recorded log offset.
	LogOffsets(ctx context.Context) ([]LogOffset, error)
	// PutLogOffset records (or replaces) the offset of one file.
	PutLogOffset(ctx context.Context, o LogOffset) error
	// DeleteLogOffsets forgets the offsets of a datastore's files.
	DeleteLogOffsets(ctx context.Context, datastoreID string) error
}
