package mysql

import (
	"regexp"
	"strings"
	"time"
)

var (
	errorLine   = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} {1,2}\d{1,2}:\d{2}:\d{2}|\d{6} {1,2}\d{1,2}:\d{2}:\d{2}) +(?:(\d+) +)?\[(\w+)\] (.*)$`)
	errorDenied = regexp.MustCompile(`Access denied for user '((?:[^'\\]|\\.)*)'@'([^']*)'(?: to database '((?:[^'\\]|\\.)*)')?`)
)

// ParseErrorLine parses a line that begins an entry of MariaDB's error log
// ("2026-01-02  3:04:05 12 [Warning] Access denied for user …"): its time
// (UTC), its labels (level; the thread; the user, client_host and database
// of a refused login) and its message; ok is false for other lines (the
// continuation of an entry). The local runtime reads the log's file, the
// Kubernetes runtime a pod's output: both parse it here.
func ParseErrorLine(line string) (ts time.Time, labels map[string]string, msg string, ok bool) {
	m := errorLine.FindStringSubmatch(line)
	if m == nil {
		return time.Time{}, nil, "", false
	}
	ts, err := parseErrorTime(m[1])
	if err != nil {
		return time.Time{}, nil, "", false
	}
	labels = map[string]string{"level": strings.ToLower(m[3])}
	if m[2] != "" {
		labels["thread"] = m[2]
	}
	if d := errorDenied.FindStringSubmatch(m[4]); d != nil {
		labels["user"], labels["client_host"] = d[1], d[2]
		if d[3] != "" {
			labels["database"] = d[3]
		}
	}
	return ts, labels, m[4], true
}

func parseErrorTime(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 6 && s[6] == ' ' {
		return time.ParseInLocation("060102 15:04:05", s, time.UTC)
	}
	return time.ParseInLocation("2006-01-02 15:04:05", s, time.UTC)
}
