package telemetry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

func TestLogsQuery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	dir := t.TempDir()
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	pg := func(i int, node int) string {
		return fmt.Sprintf("%s UTC [%d] u@db%d LOG:  node %d entry %d", base.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05.000"),
			100+i, i%2, node, i)
	}
	files := []string{filepath.Join(dir, "n0.log"), filepath.Join(dir, "n1.log"), filepath.Join(dir, "n0-other.log")}
	for n, path := range files[:2] {
		var lines []string
		for i := n; i < 100; i += 2 { // node 0 even seconds, node 1 odd ones
			lines = append(lines, pg(i, n))
		}
		appendLines(t, path, lines...)
	}
	appendLines(t, files[2], redisLog(30, "an entry of another job"))
	f.drv.logs = func(c *engine.Cluster) []engine.LogFile {
		return []engine.LogFile{
			{NodeID: c.Nodes[0].ID, Job: engine.JobPostgreSQL, Format: engine.LogFormatPostgres, Path: files[0]},
			{NodeID: c.Nodes[1].ID, Job: engine.JobPostgreSQL, Format: engine.LogFormatPostgres, Path: files[1]},
			{NodeID: c.Nodes[0].ID, Job: engine.JobRedis, Format: engine.LogFormatRedis, Path: files[2]},
			{NodeID: c.Nodes[1].ID, Job: engine.JobRedis, Format: engine.LogFormatRedis, Path: filepath.Join(dir, "missing.log")},
		}
	}
	// Files must look written after the range starts.
	for _, p := range files {
		if err := os.Chtimes(p, base.Add(time.Hour), base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	query := func(q model.LogQuery) []string {
		t.Helper()
		if q.Start.IsZero() {
			q.Start, q.End = base, base.Add(time.Hour)
		}
		lines, err := f.svc.Logs(context.Background(), f.ds.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, l := range lines {
			if i > 0 && l.TS < lines[i-1].TS {
				t.Fatalf("lines not oldest first: %+v", lines)
			}
			if l.IP != "127.0.0.1" || l.Labels["job"] == "" || l.Labels["instance"] == "" {
				t.Fatalf("line %+v", l)
			}
			out = append(out, l.Value)
		}
		return out
	}
	got := query(model.LogQuery{Limit: 3})
	if strings.Join(got, "|") != "node 1 entry 97|node 0 entry 98|node 1 entry 99" {
		t.Fatalf("newest 3 of every file: %q", got)
	}
	got = query(model.LogQuery{Limit: 1000, Job: engine.JobRedis})
	if len(got) != 1 || got[0] != "an entry of another job" {
		t.Fatalf("job filter: %q", got)
	}
	got = query(model.LogQuery{Limit: 1000, Job: engine.JobPostgreSQL, IPs: []string{"127.0.0.1:21001"}})
	if len(got) != 50 || !strings.HasPrefix(got[0], "node 1 ") {
		t.Fatalf("host:port filter: %d lines from %q", len(got), got[0])
	}
	got = query(model.LogQuery{Limit: 1000, IPs: []string{f.insts[0].Hostname}})
	if len(got) != 51 {
		t.Fatalf("hostname filter: %d lines", len(got))
	}
	if got := query(model.LogQuery{Limit: 1000, IPs: []string{"127.0.0.1"}}); len(got) != 101 {
		t.Fatalf("IP filter (both nodes): %d lines", len(got))
	}
	if got := query(model.LogQuery{Limit: 1000, IPs: []string{"10.0.0.1"}}); len(got) != 0 {
		t.Fatalf("unknown IP: %q", got)
	}
	got = query(model.LogQuery{Limit: 1000, Databases: []string{"db1"}})
	if len(got) != 50 || !strings.HasSuffix(got[0], "entry 1") {
		t.Fatalf("database filter: %d lines, first %q", len(got), got[0])
	}
	got = query(model.LogQuery{Limit: 1000, Start: base.Add(10 * time.Second), End: base.Add(12 * time.Second)})
	if strings.Join(got, "|") != "node 0 entry 10|node 1 entry 11|node 0 entry 12" {
		t.Fatalf("time range: %q", got)
	}
	if got := query(model.LogQuery{Limit: 10, Start: base.Add(2 * time.Hour), End: base.Add(3 * time.Hour)}); len(got) != 0 {
		t.Fatalf("files last written before the range: %q", got)
	}
}

// readerDriver is a fake engine that reads its servers' logs itself (as
// the Kubernetes runtime does from its pods).
type readerDriver struct {
	fakeDriver
	entries func(c *engine.Cluster) []engine.LogEntry
	asked   engine.LogQuery
}

func (r *readerDriver) ReadLogs(_ context.Context, c *engine.Cluster, q engine.LogQuery) ([]engine.LogEntry, error) {
	r.asked = q
	return r.entries(c), nil
}

// TestLogsFromReader: a driver's own log entries get the filters and the
// answer of log files: job, instance, database, time range, the newest
// limit oldest first, the instance's labels.
func TestLogsFromReader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	drv := &readerDriver{}
	drv.entries = func(c *engine.Cluster) []engine.LogEntry {
		var out []engine.LogEntry
		for i := 0; i < 20; i++ {
			n := c.Nodes[i%2]
			out = append(out, engine.LogEntry{NodeID: n.ID, Job: engine.JobPostgreSQL, Time: base.Add(time.Duration(i) * time.Second),
				Labels: map[string]string{"level": "log", "database": fmt.Sprintf("db%d", i%2)}, Message: fmt.Sprintf(" entry %d ", i)})
		}
		return append(out, engine.LogEntry{NodeID: "gone", Job: engine.JobPostgreSQL, Time: base, Message: "a node that is not an instance"})
	}
	svc := New(f.st, map[string]engine.Driver{"fake": drv}, Config{DataDir: t.TempDir()}, NewSelf(), nil)
	query := func(q model.LogQuery) []string {
		t.Helper()
		if q.Start.IsZero() {
			q.Start, q.End = base, base.Add(time.Hour)
		}
		lines, err := svc.Logs(context.Background(), f.ds.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range lines {
			if l.IP != "127.0.0.1" || l.Labels["job"] != engine.JobPostgreSQL || l.Labels["instance"] == "" || l.Labels["hostname"] == "" {
				t.Fatalf("line %+v", l)
			}
			out = append(out, l.Value)
		}
		return out
	}
	if got := query(model.LogQuery{Limit: 3}); strings.Join(got, "|") != "entry 17|entry 18|entry 19" {
		t.Errorf("newest 3: %q", got)
	}
	if drv.asked.Limit != 3 || drv.asked.Job != "" || !drv.asked.Start.Equal(base) {
		t.Errorf("the driver was asked %+v", drv.asked)
	}
	if got := query(model.LogQuery{Limit: 100, IPs: []string{"127.0.0.1:21001"}}); len(got) != 10 || got[0] != "entry 1" {
		t.Errorf("instance filter: %q", got)
	}
	if got := query(model.LogQuery{Limit: 100, Databases: []string{"db0"}}); len(got) != 10 || got[0] != "entry 0" {
		t.Errorf("database filter: %q", got)
	}
	if got := query(model.LogQuery{Limit: 100, Start: base.Add(5 * time.Second), End: base.Add(6 * time.Second)}); strings.Join(got, "|") != "entry 5|entry 6" {
		t.Errorf("time range: %q", got)
	}
	if got := query(model.LogQuery{Limit: 100, Job: engine.JobRedis}); len(got) != 0 {
		t.Errorf("another job: %q", got)
	}
}
