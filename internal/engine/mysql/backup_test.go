package mysql

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestBackupPosition(t *testing.T) {
	t.Parallel()
	n := &node{Node: engine.Node{ID: "3F2a-91bc-77d0"}}
	if got := archiveName(n, "binlog.000012"); got != "3f2a91bc-binlog.000012" {
		t.Errorf("archive name = %s", got)
	}
	out := "[00] 2026-11-26 20:27:56 MySQL binlog position: filename 'binlog.000001', position '1098', GTID of the last change '0-7-5'\n"
	m := binlogPosRE.FindStringSubmatch(out)
	if m == nil || m[1] != "binlog.000001" || m[2] != "1098" || m[3] != "0-7-5" {
		t.Fatalf("binlog position in %q: %v", out, m)
	}
	p, err := parsePosition("3f2a91bc-binlog.000001 1098 0-7-5")
	if err != nil || p.file != "3f2a91bc-binlog.000001" || p.offset != 1098 || p.gtid != "0-7-5" {
		t.Errorf("parsed %+v %v", p, err)
	}
	if p, err := parsePosition("x-binlog.000001 4 -"); err != nil || p.gtid != "" {
		t.Errorf("no GTID: %+v %v", p, err)
	}
	for _, bad := range []string{"", "x 1", "x y z"} {
		if _, err := parsePosition(bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("position %q: %v", bad, err)
		}
	}
}

func TestReplayLogs(t *testing.T) {
	t.Parallel()
	mk := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	base := func(paths []string) string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return strings.Join(out, " ")
	}
	// Another node's logs and older ones are left out; order is numeric.
	dir := mk("aa-binlog.000003", "aa-binlog.000004", "aa-binlog.000010", "aa-binlog.000005", "aa-binlog.000006", "aa-binlog.000007",
		"aa-binlog.000008", "aa-binlog.000009", "bb-binlog.000004", ".aa-binlog.000011.tmp")
	got, err := replayLogs(dir, "aa-binlog.000004")
	if err != nil || base(got) != "aa-binlog.000004 aa-binlog.000005 aa-binlog.000006 aa-binlog.000007 aa-binlog.000008 aa-binlog.000009 aa-binlog.000010" {
		t.Errorf("logs to replay: %s %v", base(got), err)
	}
	if got, err := replayLogs(mk("aa-binlog.000001"), "aa-binlog.000004"); err != nil || len(got) != 0 {
		t.Errorf("nothing archived after the backup: %v %v", got, err)
	}
	if _, err := replayLogs(mk("aa-binlog.000004", "aa-binlog.000006"), "aa-binlog.000004"); !errors.Is(err, engine.ErrTargetNotArchived) {
		t.Errorf("a gap: %v", err)
	}
	if _, err := replayLogs(mk("aa-binlog.000005"), "aa-binlog.000004"); !errors.Is(err, engine.ErrTargetNotArchived) {
		t.Errorf("the backup's own log missing: %v", err)
	}
	if got, err := replayLogs("", "aa-binlog.000004"); err != nil || got != nil {
		t.Errorf("no archive: %v %v", got, err)
	}
}
