package mariadbop

import (
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// A pod's output is the server's error log with the entrypoint's lines
// around it: entries in the range come back with their labels, a line
// that starts no entry continues the one before, others are dropped.
func TestParseErrorLog(t *testing.T) {
	t.Parallel()
	raw := []byte("2026-12-07 04:50:10+00:00 [Note] [Entrypoint]: Entrypoint script for MariaDB Server started.\n" +
		"2026-12-07  4:50:11 0 [Note] mariadbd: ready for connections.\n" +
		"Version: '10.11.18-MariaDB-0+deb12u1-log'  socket: '/run/mysqld/mysqld.sock'  port: 3306  Debian 12\n" +
		"2026-12-07  4:51:02 31 [Warning] Access denied for user 'eve'@'10.203.0.1' (using password: YES)\n" +
		"2026-12-07  4:59:00 0 [Note] after the range\n")
	start := time.Date(2026, 12, 7, 4, 50, 11, 0, time.UTC)
	end := time.Date(2026, 12, 7, 4, 55, 0, 0, time.UTC)
	got := parseErrorLog(raw, "n1", start, end)
	if len(got) != 2 {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	if got[0].Message != "mariadbd: ready for connections.\nVersion: '10.11.18-MariaDB-0+deb12u1-log'  socket: '/run/mysqld/mysqld.sock'  port: 3306  Debian 12" ||
		got[0].Labels["level"] != "note" || !got[0].Time.Equal(start) {
		t.Errorf("first entry %+v", got[0])
	}
	e := got[1]
	if e.NodeID != "n1" || e.Job != engine.JobMySQLError || e.Labels["level"] != "warning" || e.Labels["user"] != "eve" ||
		e.Labels["client_host"] != "10.203.0.1" || e.Labels["thread"] != "31" {
		t.Errorf("refused login %+v", e)
	}
}
