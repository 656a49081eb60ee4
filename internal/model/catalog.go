package model

// DatastoreType is an engine and version a datastore can be created with.
type DatastoreType struct {
	ID          string
	Engine      string
	Version     string
	FullVersion string
}

// FlavorSpec is a predefined node size.
type FlavorSpec struct {
	ID               string
	Name             string
	Description      string
	VCPUs            int
	RAM              int // MB
	Disk             int // GB
	FlSize           string
	Subtype          string
	HostLine         string
	HostProcessor    string
	HostTotalCount   int
	IsPublic         bool
	Template         string
	DatastoreTypeIDs []string
}

// ConfigurationParameter describes one tunable parameter of a datastore type.
type ConfigurationParameter struct {
	ID                        string
	DatastoreTypeID           string
	Name                      string
	Type                      string // int, float, bool, str
	Unit                      string
	MinTemplate               string // expressions over ram, vcpus, disk; "" = none
	MaxTemplate               string
	DefaultValueTemplate      string
	Choices                   []any
	InvalidValues             []any
	IsRestartRequired         bool
	IsChangeable              bool
	CanBeEmpty                bool
	IsMultipleChoiceAvailable bool
	IsAvailableForCustomer    bool
	Factor                    float64
}

// AvailableExtension is an extension a datastore type offers.
type AvailableExtension struct {
	ID               string
	Name             string
	DatastoreTypeIDs []string
	DependencyIDs    []string
}

// Quota is a project's limit for one resource.
type Quota struct {
	ProjectID string
	Resource  string
	Limit     int64
}
