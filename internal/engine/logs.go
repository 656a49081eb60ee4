package engine

import (
	"context"
	"time"
)

// Log jobs: the source of a log line, as the logs API's job filter names it.
const (
	JobPostgreSQL    = "postgresql"
	JobMySQLError    = "mysql-error"
	JobMySQLSlow     = "mysql-slow"
	JobRedis         = "redis"
	JobRedisSentinel = "redis-sentinel"
	JobKafka         = "kafka"
)

// Log formats: how the lines of a log file are laid out, so that a reader
// can find each line's time and labels.
const (
	// LogFormatPostgres is a PostgreSQL server log written with the
	// log_line_prefix '%m [%p] %q%u@%d ' (UTC).
	LogFormatPostgres = "postgres"
	// LogFormatMariaDBError is MariaDB's error log
	// ("2026-01-02 10:11:12 5 [Warning] message", server time in UTC).
	LogFormatMariaDBError = "mariadb-error"
	// LogFormatMariaDBSlow is MariaDB's slow query log (entries of "# ..."
	// comment lines, "SET timestamp=N;" and the statement).
	LogFormatMariaDBSlow = "mariadb-slow"
	// LogFormatRedis is a Redis server or Sentinel log
	// ("123:M 02 Jan 2026 10:11:12.345 * message", UTC).
	LogFormatRedis = "redis"
	// LogFormatKafkaBroker is the output of dbaasd's Kafka broker process
	// ("kafka-broker: 2026/01/02 10:11:12 message" and kfake's
	// "10:11:12.345 [WARN] message", UTC).
	LogFormatKafkaBroker = "kafka-broker"
)

// LogFile is one log file of a node.
type LogFile struct {
	NodeID string
	Job    string // one of the Job* names
	Format string // one of the LogFormat* names
	Path   string
}

// LogSource is implemented by drivers whose servers write log files. It
// only names files; it reads nothing and may list files that do not exist
// (yet).
type LogSource interface {
	LogFiles(c *Cluster) []LogFile
}

// LogQuery selects log entries for a LogReader.
type LogQuery struct {
	Job        string // one of the Job* names; "" = every job
	Start, End time.Time
	// Limit is the most entries wanted per node: the newest of the range.
	Limit int
}

// LogEntry is one entry of a server's log, as a LogReader read it.
type LogEntry struct {
	NodeID string
	Job    string
	Time   time.Time
	// Labels are what the entry says about itself: "level", "pid", and
	// "user" and "database" for a session's (the names the local runtime's
	// log formats give).
	Labels  map[string]string
	Message string
}

// LogReader is implemented by drivers whose servers' logs are not files
// on this machine (a Kubernetes pod's output): ReadLogs returns the
// entries of each node in [q.Start, q.End] that match q.Job, at most
// q.Limit per node, oldest first. Nodes whose log cannot be read are left
// out; an error means no log could be read at all.
type LogReader interface {
	ReadLogs(ctx context.Context, c *Cluster, q LogQuery) ([]LogEntry, error)
}
