package store

// Telemetry keeps the time series of the metrics collector and the state
// of log export. (Its methods are added with the telemetry tables.)
type Telemetry interface{}
