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
