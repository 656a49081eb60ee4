package telemetry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// writePGLog writes n PostgreSQL entries one second apart from base; every
// seventh has two continuation lines, so entries straddle chunk edges.
func writePGLog(t *testing.T, path string, base time.Time, n int) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i) * time.Second).Format("2006-01-02 15:04:05.000")
		fmt.Fprintf(&b, "%s UTC [%d] u@db%d LOG:  entry %d %s\n", ts, 1000+i, i%3, i, strings.Repeat("x", 40))
		if i%7 == 0 {
			fmt.Fprintf(&b, "\tcontinued %d\n\tstill %d\n", i, i)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanBackwardKeepsEntriesWhole(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postgresql-Mon.log")
	base := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	const n = 20000 // about 2 MB: many chunks
	writePGLog(t, path, base, n)
	var got []entry
	calls := 0
	err := scanBackward(path, formats[engine.LogFormatPostgres], func(es []entry) bool {
		calls++
		got = append(append([]entry{}, es...), got...)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || calls < 10 {
		t.Fatalf("%d entries in %d chunks, want %d in many", len(got), calls, n)
	}
	for i, e := range got {
		want := fmt.Sprintf("entry %d ", i)
		if !strings.HasPrefix(e.value, want) || !e.ts.Equal(base.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("entry %d = %v %q", i, e.ts, e.value)
		}
		if i%7 == 0 && !strings.HasSuffix(e.value, fmt.Sprintf("\n\tcontinued %d\n\tstill %d", i, i)) {
			t.Fatalf("entry %d lost its continuation lines: %q", i, e.value)
		}
	}
}

func TestScanBackwardStopsEarly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.log")
	writePGLog(t, path, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 50000)
	calls := 0
	var last []entry
	if err := scanBackward(path, formats[engine.LogFormatPostgres], func(es []entry) bool {
		calls++
		last = es
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !strings.HasPrefix(last[len(last)-1].value, "entry 49999 ") {
		t.Fatalf("%d calls, last entry %+v: want one chunk with the newest entry", calls, last[len(last)-1])
	}
	if err := scanBackward(filepath.Join(t.TempDir(), "missing.log"), formats[engine.LogFormatPostgres], func([]entry) bool {
		t.Fatal("a missing file has entries")
		return true
	}); err != nil {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestReadForwardLeavesPartialLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "redis.log")
	full := "1:M 02 Jan 2026 10:00:00.000 * one\n1:M 02 Jan 2026 10:00:01.000 * two\n"
	if err := os.WriteFile(path, []byte(full+"1:M 02 Jan 2026 10:00:02.000 * thr"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := formats[engine.LogFormatRedis]
	now := time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC)
	es, next, err := readForward(path, f, 0, 1<<20, now)
	if err != nil || len(es) != 2 || next != int64(len(full)) || es[1].value != "two" {
		t.Fatalf("readForward = %+v, %d, %v", es, next, err)
	}
	// The rest of the line arrives, with a continuation of it.
	appendText(t, path, "ee\n  and more\n")
	es, next2, err := readForward(path, f, next, 1<<20, now)
	if err != nil || len(es) != 1 || es[0].value != "three\n  and more" || next2 <= next {
		t.Fatalf("second read = %+v, %d, %v", es, next2, err)
	}
	// Lines that continue an entry shipped before come as their own entry.
	appendText(t, path, "  late continuation\n1:M 02 Jan 2026 10:00:03.000 * four\n")
	es, _, err = readForward(path, f, next2, 1<<20, now)
	if err != nil || len(es) != 2 || es[0].value != "late continuation" || !es[0].ts.Equal(now) || es[1].value != "four" {
		t.Fatalf("third read = %+v, %v", es, err)
	}
}

// appendText appends s to the file at path.
func appendText(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(s); err != nil {
		_ = fh.Close()
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}
