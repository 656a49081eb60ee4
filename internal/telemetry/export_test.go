package telemetry

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(f, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func redisLog(sec int, msg string) string {
	return fmt.Sprintf("7:M 02 Jan 2026 10:00:%02d.000 * %s", sec, msg)
}

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func values(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Value)
	}
	return out
}

// exportFixture has a datastore whose nodes each write one Redis log.
func exportFixture(t *testing.T, cfg Config) (*fixture, []string) {
	f := newFixture(t, cfg)
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")}
	f.drv.logs = func(c *engine.Cluster) []engine.LogFile {
		var out []engine.LogFile
		for i, n := range c.Nodes {
			out = append(out, engine.LogFile{NodeID: n.ID, Job: engine.JobRedis, Format: engine.LogFormatRedis, Path: paths[i]})
		}
		return out
	}
	return f, paths
}

func (f *fixture) setLogGroup(group string) {
	f.t.Helper()
	ds, err := f.st.Datastores().Get(context.Background(), f.ds.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	ds.LogGroup = group
	if err := f.st.Datastores().Update(context.Background(), ds); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) ship(svc *Service) {
	f.t.Helper()
	if err := svc.ShipOnce(context.Background()); err != nil {
		f.t.Fatalf("ShipOnce: %v", err)
	}
}

func TestShipToFiles(t *testing.T) {
	t.Parallel()
	f, paths := exportFixture(t, Config{})
	ctx := context.Background()
	appendLines(t, paths[0], redisLog(0, "before export"))
	f.ship(f.svc)
	if offs, _ := f.st.LogOffsets(ctx); len(offs) != 0 {
		t.Fatalf("offsets without export: %+v", offs)
	}
	sinkFile, err := (&FileSink{Dir: ExportDir(f.svc.cfg.DataDir)}).Path(f.project, "grp")
	if err != nil {
		t.Fatal(err)
	}

	f.setLogGroup("grp")
	f.ship(f.svc) // starts at the end: nothing yet
	if recs := readRecords(t, sinkFile); len(recs) != 0 {
		t.Fatalf("lines from before export: %v", values(recs))
	}
	appendLines(t, paths[0], redisLog(1, "first"), redisLog(2, "second"), "   continued")
	f.ship(f.svc)
	recs := readRecords(t, sinkFile)
	if got := values(recs); len(got) != 2 || got[0] != "first" || got[1] != "second\n   continued" {
		t.Fatalf("exported %q", got)
	}
	r := recs[0]
	if r.DatastoreID != f.ds.ID || r.IP != "127.0.0.1" || r.Job != engine.JobRedis || r.TS != float64(time.Date(2026, 1, 2, 10, 0, 1, 0, time.UTC).Unix()) ||
		r.Labels["instance"] != "127.0.0.1:21000" || r.Labels["hostname"] != f.insts[0].Hostname || r.Labels["level"] != "notice" {
		t.Fatalf("record %+v", r)
	}

	// A restarted dbaasd goes on where the last one stopped.
	again := New(f.st, f.svc.drivers, f.svc.cfg, nil, nil)
	f.ship(again)
	appendLines(t, paths[0], redisLog(3, "third"))
	appendLines(t, paths[1], redisLog(4, "new file"))
	f.ship(again)
	if got := values(readRecords(t, sinkFile)); strings.Join(got, "|") != "first|second\n   continued|third|new file" {
		t.Fatalf("after a restart and a new file: %q", got)
	}

	// A rotated (truncated) file is read from its start.
	if err := os.Truncate(paths[0], 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, paths[0], redisLog(5, "rotated"))
	f.ship(again)
	if got := values(readRecords(t, sinkFile)); got[len(got)-1] != "rotated" || len(got) != 5 {
		t.Fatalf("after rotation: %q", got)
	}

	// Turning export off forgets the offsets; on again, it starts at the end.
	f.setLogGroup("")
	f.ship(again)
	if offs, _ := f.st.LogOffsets(ctx); len(offs) != 0 {
		t.Fatalf("offsets after export was turned off: %+v", offs)
	}
	appendLines(t, paths[0], redisLog(6, "while off"))
	f.setLogGroup("grp")
	f.ship(again)
	appendLines(t, paths[0], redisLog(7, "on again"))
	f.ship(again)
	if got := values(readRecords(t, sinkFile)); got[len(got)-1] != "on again" || len(got) != 6 {
		t.Fatalf("after export off and on: %q", got)
	}
}

func TestShipToHTTPRetriesFailedBatches(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Content-Type") != "application/x-ndjson" || r.Header.Get("X-Dbaas-Log-Group") != "grp" {
			t.Errorf("request headers %v", r.Header)
		}
		if fail {
			fail = false
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		bodies = append(bodies, string(b))
	}))
	defer srv.Close()
	f, paths := exportFixture(t, Config{ExportURL: srv.URL})
	appendLines(t, paths[0], redisLog(0, "old"))
	f.setLogGroup("grp")
	f.ship(f.svc)
	appendLines(t, paths[0], redisLog(1, "one"), redisLog(2, "two"))
	if err := f.svc.ShipOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a refused batch: %v", err)
	}
	f.ship(f.svc)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || strings.Count(bodies[0], "\n") != 2 || !strings.Contains(bodies[0], `"value":"one"`) ||
		!strings.Contains(bodies[0], `"value":"two"`) || strings.Contains(bodies[0], "old") {
		t.Fatalf("posted %q", bodies)
	}
}

func TestFileSinkRefusesPathsOutsideItsDirectory(t *testing.T) {
	t.Parallel()
	s := &FileSink{Dir: t.TempDir()}
	for _, bad := range [][2]string{{"p", "../x"}, {"p", "a/b"}, {"..", "g"}, {"p", ""}, {"p", ".."}} {
		if err := s.Write(context.Background(), bad[0], bad[1], []Record{{Value: "x"}}); err == nil {
			t.Errorf("%q/%q accepted", bad[0], bad[1])
		}
	}
}
