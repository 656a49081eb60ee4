package model

import "time"

// What the metrics and logs operations ask of the collected telemetry and
// what it answers; the API handlers and the telemetry package both use them.

// Series is one metric of one instance (or database) over time.
type Series struct {
	IP         string
	Timestamps []float64 // Unix seconds
	Values     []float64
}

// LogQuery selects log lines.
type LogQuery struct {
	Job        string
	Start, End time.Time
	Limit      int
	IPs        []string
	Databases  []string
}

// LogLine is one parsed log line.
type LogLine struct {
	TS     float64 // Unix seconds
	IP     string
	Value  string
	Labels map[string]string
}
