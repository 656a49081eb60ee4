package telemetry

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func parseAll(format string, ref time.Time, text string) []entry {
	p := newParser(formats[format], ref)
	for _, l := range strings.Split(text, "\n") {
		p.line(l)
	}
	return p.entries()
}

func TestParseFormats(t *testing.T) {
	t.Parallel()
	ref := time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		name, format, text string
		want               []entry
	}{
		{"postgres", engine.LogFormatPostgres,
			"continued from before\n" +
				"2026-01-02 10:11:12.345 UTC [901] LOG:  database system is ready to accept connections\n" +
				"2026-01-02 10:11:13.001 UTC [902] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=5555\n" +
				"2026-01-02 10:11:13.010 UTC [902] alice@App DB FATAL:  password authentication failed for user \"alice\"\n" +
				"2026-01-02 10:11:14.000 UTC [903] bob@shop LOG:  statement: SELECT 1\n" +
				"\t  FROM t\n" +
				"\tWHERE x = 'LOG:  no'",
			[]entry{
				{at("2026-01-02T10:11:12.345Z"), map[string]string{"pid": "901", "level": "log"}, "database system is ready to accept connections"},
				{at("2026-01-02T10:11:13.001Z"), map[string]string{"pid": "902", "level": "log"}, "connection received: host=127.0.0.1 port=5555"},
				{at("2026-01-02T10:11:13.010Z"), map[string]string{"pid": "902", "level": "fatal", "user": "alice", "database": "App DB"},
					`password authentication failed for user "alice"`},
				{at("2026-01-02T10:11:14Z"), map[string]string{"pid": "903", "level": "log", "user": "bob", "database": "shop"},
					"statement: SELECT 1\n\t  FROM t\n\tWHERE x = 'LOG:  no'"},
			}},
		{"mariadb error", engine.LogFormatMariaDBError,
			"2026-01-02 10:11:12 0 [Note] Starting MariaDB 10.11.19\n" +
				"2026-01-02 10:11:13 7 [Warning] Access denied for user 'eve'@'127.0.0.1' (using password: YES)\n" +
				"260102 10:11:14 [ERROR] old style\n" +
				"  detail line",
			[]entry{
				{at("2026-01-02T10:11:12Z"), map[string]string{"level": "note", "thread": "0"}, "Starting MariaDB 10.11.19"},
				{at("2026-01-02T10:11:13Z"), map[string]string{"level": "warning", "thread": "7", "user": "eve", "client_host": "127.0.0.1"},
					"Access denied for user 'eve'@'127.0.0.1' (using password: YES)"},
				{at("2026-01-02T10:11:14Z"), map[string]string{"level": "error"}, "old style\n  detail line"},
			}},
		{"mariadb slow", engine.LogFormatMariaDBSlow,
			"/usr/sbin/mariadbd, Version: 10.11.19-MariaDB (Debian 12). started with:\n" +
				"Tcp port: 3306  Unix socket: /run/mysqld.sock\n" +
				"Time                 Id Command    Argument\n" +
				"# Time: 260102 10:11:12\n" +
				"# User@Host: app[app] @ localhost [127.0.0.1]\n" +
				"# Thread_id: 8  Schema: shop  QC_hit: No\n" +
				"# Query_time: 2.000150  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 0\n" +
				"# Rows_affected: 0  Bytes_sent: 64\n" +
				"SET timestamp=1767348672;\n" +
				"SELECT SLEEP(2)\n" +
				"  FROM dual;\n" +
				"# User@Host: root[root] @ localhost []\n" +
				"# Thread_id: 9  Schema:   QC_hit: No\n" +
				"use other;\n" +
				"SET timestamp=1767348673;\n" +
				"SELECT 1;",
			[]entry{
				{time.Unix(1767348672, 0).UTC(), map[string]string{"user": "app", "client_host": "127.0.0.1", "database": "shop",
					"thread_id": "8", "query_time": "2.000150", "lock_time": "0.000010", "rows_sent": "1", "rows_examined": "0",
					"rows_affected": "0"}, "SELECT SLEEP(2)\n  FROM dual;"},
				{time.Unix(1767348673, 0).UTC(), map[string]string{"user": "root", "client_host": "localhost", "database": "other",
					"thread_id": "9"}, "SELECT 1;"},
			}},
		{"redis", engine.LogFormatRedis,
			"12:M 02 Jan 2026 10:11:12.345 * Ready to accept connections tcp\n" +
				"13:X 02 Jan 2026 10:11:13.000 # +sdown master dbaasd 127.0.0.1 21000",
			[]entry{
				{at("2026-01-02T10:11:12.345Z"), map[string]string{"pid": "12", "role": "master", "level": "notice"}, "Ready to accept connections tcp"},
				{at("2026-01-02T10:11:13Z"), map[string]string{"pid": "13", "role": "sentinel", "level": "warning"}, "+sdown master dbaasd 127.0.0.1 21000"},
			}},
		{"kafka", engine.LogFormatKafkaBroker,
			"23:59:58.500 [WARN] before any dated line: the reference's day\n" +
				"kafka-broker: 2026/01/03 00:00:01 serving 1 broker(s)\n" +
				"00:00:02.250 [INFO] kfake line\n" +
				"goroutine dump follows",
			[]entry{
				{at("2026-01-02T23:59:58.5Z"), map[string]string{"level": "warn"}, "before any dated line: the reference's day"},
				{at("2026-01-03T00:00:01Z"), map[string]string{"level": "info"}, "serving 1 broker(s)"},
				{at("2026-01-03T00:00:02.25Z"), map[string]string{"level": "info"}, "kfake line\ngoroutine dump follows"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseAll(tc.format, ref, tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if !got[i].ts.Equal(tc.want[i].ts) || got[i].value != tc.want[i].value || !reflect.DeepEqual(got[i].labels, tc.want[i].labels) {
					t.Errorf("entry %d:\n got %v %q %v\nwant %v %q %v", i, got[i].ts, got[i].value, got[i].labels,
						tc.want[i].ts, tc.want[i].value, tc.want[i].labels)
				}
			}
		})
	}
}

func TestEveryEngineFormatHasAParser(t *testing.T) {
	t.Parallel()
	for _, f := range []string{engine.LogFormatPostgres, engine.LogFormatMariaDBError, engine.LogFormatMariaDBSlow,
		engine.LogFormatRedis, engine.LogFormatKafkaBroker} {
		if formats[f] == nil {
			t.Errorf("no parser for %s", f)
		}
	}
}
