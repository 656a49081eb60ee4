package telemetry

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

// entry is one parsed log entry: a line, or a line and its continuation
// lines (a multi-line statement, a slow query log entry).
type entry struct {
	ts     time.Time
	labels map[string]string
	value  string
}

// logFormat knows how the entries of one kind of log file look.
type logFormat struct {
	// start parses a line that begins an entry; ok is false for other
	// lines. ref is a time near the line's (the latest full timestamp
	// seen), for formats whose lines carry only a time of day.
	start func(line string, ref time.Time) (e entry, ok bool)
	// more folds a following line into the entry (default: append it to
	// the value on a new line).
	more func(e *entry, line string)
	// skip, when set, drops lines that belong to no entry (file headers).
	skip func(line string) bool
}

// formats are the log formats by engine.LogFormat* name.
var formats = map[string]*logFormat{
	engine.LogFormatPostgres:     {start: startPostgres},
	engine.LogFormatMariaDBError: {start: startMariaDBError},
	engine.LogFormatMariaDBSlow:  {start: startMariaDBSlow, more: moreMariaDBSlow, skip: skipMariaDBSlow},
	engine.LogFormatRedis:        {start: startRedis},
	engine.LogFormatKafkaBroker:  {start: startKafka},
}

// parser turns lines of one file into entries, in file order.
type parser struct {
	f   *logFormat
	ref time.Time // latest full timestamp seen, or the file's modification time
	cur *entry
	out []entry
}

func newParser(f *logFormat, ref time.Time) *parser { return &parser{f: f, ref: ref} }

// isStart reports whether a line begins an entry.
func (p *parser) isStart(line string) bool {
	_, ok := p.f.start(line, p.ref)
	return ok
}

// line feeds one line (without its newline). Lines before the first entry
// start are dropped: they continue an entry this parser did not see.
func (p *parser) line(line string) {
	line = strings.TrimRight(line, "\r")
	if p.f.skip != nil && p.f.skip(line) {
		return
	}
	if e, ok := p.f.start(line, p.ref); ok {
		p.flush()
		if e.labels == nil {
			e.labels = map[string]string{}
		}
		if !e.ts.IsZero() {
			p.ref = e.ts
		}
		p.cur = &e
		return
	}
	if p.cur == nil || line == "" {
		return
	}
	if p.f.more != nil {
		p.f.more(p.cur, line)
		if !p.cur.ts.IsZero() {
			p.ref = p.cur.ts
		}
		return
	}
	p.cur.value += "\n" + line
}

func (p *parser) flush() {
	if p.cur == nil {
		return
	}
	if p.cur.ts.IsZero() {
		p.cur.ts = p.ref
	}
	p.cur.value = strings.TrimSpace(p.cur.value)
	p.out = append(p.out, *p.cur)
	p.cur = nil
}

// entries ends the input and returns what was parsed.
func (p *parser) entries() []entry {
	p.flush()
	return p.out
}

// PostgreSQL: "2026-01-02 10:11:12.345 UTC [123] alice@app FATAL:  message"
// (log_line_prefix '%m [%p] %q%u@%d '; user@database only for sessions).
var (
	pgLine  = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) (\S+) \[(\d+)\] (.*)$`)
	pgLevel = regexp.MustCompile(`^(?:(\S*?)@(.*?) )?(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):  ?(.*)$`)
)

func startPostgres(line string, _ time.Time) (entry, bool) {
	m := pgLine.FindStringSubmatch(line)
	if m == nil {
		return entry{}, false
	}
	e := entry{labels: map[string]string{"pid": m[3]}, value: m[4]}
	loc := time.UTC
	if m[2] != "UTC" && m[2] != "GMT" {
		if l, err := time.LoadLocation(m[2]); err == nil {
			loc = l
		}
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", m[1], loc)
	if err != nil {
		return entry{}, false
	}
	e.ts = ts.UTC()
	if l := pgLevel.FindStringSubmatch(m[4]); l != nil {
		if known(l[1]) {
			e.labels["user"] = l[1]
		}
		if known(l[2]) {
			e.labels["database"] = l[2]
		}
		e.labels["level"] = strings.ToLower(l[3])
		e.value = l[4]
	}
	return e, true
}

// known reports whether a user or database field names something
// (PostgreSQL writes "[unknown]" before authentication).
func known(s string) bool { return s != "" && s != "[unknown]" }

// MariaDB error log: "2026-01-02 10:11:12 5 [Warning] message" (and the
// older "260102 10:11:12 ..."). The server runs with TZ=UTC.
func startMariaDBError(line string, _ time.Time) (entry, bool) {
	ts, labels, msg, ok := mysql.ParseErrorLine(line)
	if !ok {
		return entry{}, false
	}
	return entry{ts: ts, labels: labels, value: msg}, true
}

// MariaDB slow query log: an entry starts at "# User@Host:", its time is
// in "SET timestamp=N;", its schema in "# Thread_id: … Schema: db" (or a
// "use db;" line), and the statement follows.
var (
	slowUser  = regexp.MustCompile(`^# User@Host: (\S*?)\[[^\]]*\] @ (\S*) \[([^\]]*)\]`)
	slowTS    = regexp.MustCompile(`^SET timestamp=(\d+);$`)
	slowUse   = regexp.MustCompile("^use `?([^`;]+)`?;$")
	slowField = regexp.MustCompile(`(\w+): (\S+)`)
)

func startMariaDBSlow(line string, _ time.Time) (entry, bool) {
	m := slowUser.FindStringSubmatch(line)
	if m == nil {
		return entry{}, false
	}
	e := entry{labels: map[string]string{"user": m[1]}}
	if h := m[3]; h != "" {
		e.labels["client_host"] = h
	} else if m[2] != "" {
		e.labels["client_host"] = m[2]
	}
	return e, true
}

func moreMariaDBSlow(e *entry, line string) {
	switch {
	case strings.HasPrefix(line, "# Time:"):
	case strings.HasPrefix(line, "# "):
		for _, f := range slowField.FindAllStringSubmatch(line, -1) {
			switch f[1] {
			case "Schema":
				if f[2] != "" {
					e.labels["database"] = f[2]
				}
			case "Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Rows_affected", "Thread_id":
				e.labels[strings.ToLower(f[1])] = f[2]
			}
		}
	default:
		if m := slowTS.FindStringSubmatch(line); m != nil {
			if sec, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				e.ts = time.Unix(sec, 0).UTC()
			}
			return
		}
		if m := slowUse.FindStringSubmatch(line); m != nil && e.value == "" {
			e.labels["database"] = m[1]
			return
		}
		if e.value != "" {
			e.value += "\n"
		}
		e.value += line
	}
}

// skipMariaDBSlow drops the header a server writes when it opens the file.
func skipMariaDBSlow(line string) bool {
	return strings.Contains(line, ", Version: ") && strings.HasSuffix(line, "started with:") ||
		strings.HasPrefix(line, "Tcp port: ") || strings.HasPrefix(line, "Time ") && strings.Contains(line, " Id ") && strings.Contains(line, "Command")
}

func startRedis(line string, _ time.Time) (entry, bool) {
	ts, labels, msg, ok := redis.ParseLogLine(line)
	if !ok {
		return entry{}, false
	}
	return entry{ts: ts, labels: labels, value: msg}, true
}

// Kafka broker process: "kafka-broker: 2026/01/02 10:11:12 message" from
// dbaasd's broker, and kfake's "10:11:12.345 [WARN] message", whose day is
// the one of the latest dated line (or of the file).
var (
	kafkaLine = regexp.MustCompile(`^kafka-broker: (\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) (.*)$`)
	kfakeLine = regexp.MustCompile(`^(\d{2}:\d{2}:\d{2}\.\d{3}) \[(\w+)\] (.*)$`)
)

func startKafka(line string, ref time.Time) (entry, bool) {
	if m := kafkaLine.FindStringSubmatch(line); m != nil {
		ts, err := time.ParseInLocation("2006/01/02 15:04:05", m[1], time.UTC)
		if err != nil {
			return entry{}, false
		}
		return entry{ts: ts, labels: map[string]string{"level": "info"}, value: m[2]}, true
	}
	m := kfakeLine.FindStringSubmatch(line)
	if m == nil {
		return entry{}, false
	}
	tod, err := time.ParseInLocation("15:04:05.000", m[1], time.UTC)
	if err != nil {
		return entry{}, false
	}
	ref = ref.UTC()
	ts := time.Date(ref.Year(), ref.Month(), ref.Day(), tod.Hour(), tod.Minute(), tod.Second(), tod.Nanosecond(), time.UTC)
	if ts.Sub(ref) > 12*time.Hour { // the day before the reference
		ts = ts.AddDate(0, 0, -1)
	} else if ref.Sub(ts) > 12*time.Hour { // the day after
		ts = ts.AddDate(0, 0, 1)
	}
	return entry{ts: ts, labels: map[string]string{"level": strings.ToLower(m[2])}, value: m[3]}, true
}
