package redis

import (
	"regexp"
	"time"
)

// Redis: "123:M 02 Jan 2026 10:11:12.345 * message" (role X sentinel, C
// child, S replica, M master; level . debug, - verbose, * notice, # warning).
var redisLine = regexp.MustCompile(`^(\d+):([XCSM]) (\d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.\-*#]) (.*)$`)

var redisLevels = map[string]string{".": "debug", "-": "verbose", "*": "notice", "#": "warning"}

var redisRoles = map[string]string{"X": "sentinel", "C": "child", "S": "replica", "M": "master"}

// ParseLogLine reads the line that starts an entry of a Redis server's or
// Sentinel's log: its time, labels (pid, role, level) and message; ok is
// false for a line that starts no entry.
func ParseLogLine(line string) (ts time.Time, labels map[string]string, msg string, ok bool) {
	m := redisLine.FindStringSubmatch(line)
	if m == nil {
		return time.Time{}, nil, "", false
	}
	ts, err := time.ParseInLocation("2 Jan 2006 15:04:05.000", m[3], time.UTC)
	if err != nil {
		return time.Time{}, nil, "", false
	}
	return ts, map[string]string{"pid": m[1], "role": redisRoles[m[2]], "level": redisLevels[m[4]]}, m[5], true
}
