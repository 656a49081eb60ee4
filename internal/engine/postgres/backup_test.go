package postgres

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// runArchiveCommand runs archive_command for a segment of pg_wal.
func runArchiveCommand(t *testing.T, archive, dataDir, file string) error {
	t.Helper()
	return runServerCommand(dataDir, archiveCommand(archive), "pg_wal/"+file, file)
}

// runServerCommand runs an archive or restore command as PostgreSQL does:
// %p (path) and %f (file) replaced, through /bin/sh, in the data
// directory.
func runServerCommand(dataDir, command, path, file string) error {
	c := exec.Command("/bin/sh", "-c", strings.NewReplacer("%p", path, "%f", file).Replace(command))
	c.Dir = dataDir
	if out, err := c.CombinedOutput(); err != nil {
		return errors.New(err.Error() + ": " + string(out))
	}
	return nil
}

func TestArchiveCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, archive := filepath.Join(dir, "data"), filepath.Join(dir, "archive dir")
	for _, d := range []string{filepath.Join(data, "pg_wal"), archive} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seg := "000000010000000000000003"
	if err := os.WriteFile(filepath.Join(data, "pg_wal", seg), []byte("wal contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runArchiveCommand(t, archive, data, seg); err != nil {
		t.Fatalf("archive: %v", err)
	}
	if b := unzstd(t, filepath.Join(archive, seg)); b != "wal contents" {
		t.Fatalf("archived copy decompresses to %q", b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(archive, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	// Archiving the same segment again (a retry after a crash) succeeds.
	if err := runArchiveCommand(t, archive, data, seg); err != nil {
		t.Errorf("archiving an identical segment again: %v", err)
	}
	// A different segment of the same name (another cluster's) fails and
	// leaves the archive as it was.
	if err := os.WriteFile(filepath.Join(data, "pg_wal", seg), []byte("other contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runArchiveCommand(t, archive, data, seg); err == nil {
		t.Error("a different segment overwrote the archived one")
	}
	if b := unzstd(t, filepath.Join(archive, seg)); b != "wal contents" {
		t.Errorf("archived copy changed: %q", b)
	}
	// A missing archive directory fails (PostgreSQL keeps the segment).
	if err := runArchiveCommand(t, filepath.Join(dir, "gone"), data, seg); err == nil {
		t.Error("archiving into a missing directory succeeded")
	}
}

// unzstd returns the decompressed content of a zstd file, failing the
// test when the file is not one.
func unzstd(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("zstd", "-dcq", path).Output()
	if err != nil {
		t.Fatalf("zstd -d %s: %v", path, err)
	}
	return string(out)
}

// TestArchiveCompresses: a segment completed early by archive_timeout
// (16 MB, mostly zeros) is stored compressed, and restore_command gives
// it back byte for byte.
func TestArchiveCompresses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, archive := filepath.Join(dir, "data"), filepath.Join(dir, "archive")
	for _, d := range []string{filepath.Join(data, "pg_wal"), archive} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seg := "000000010000000000000004"
	wal := make([]byte, walSegmentSize)
	copy(wal, strings.Repeat("a commit record ", 512))
	if err := os.WriteFile(filepath.Join(data, "pg_wal", seg), wal, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runArchiveCommand(t, archive, data, seg); err != nil {
		t.Fatalf("archive: %v", err)
	}
	st, err := os.Stat(filepath.Join(archive, seg))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > walSegmentSize/100 {
		t.Errorf("archived segment takes %d bytes, want under 1%% of its %d", st.Size(), walSegmentSize)
	}
	if err := runRestoreCommand(t, archive, data, seg); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(data, "restored")); err != nil || string(got) != string(wal) {
		t.Fatalf("restored segment differs from the original (%d bytes, %v)", len(got), err)
	}
}

// runRestoreCommand runs restore_command, asking for file into
// data/restored.
func runRestoreCommand(t *testing.T, archive, dataDir, file string) error {
	t.Helper()
	return runServerCommand(dataDir, restoreCommand(archive), "restored", file)
}

// TestRestoreCommand: files archived uncompressed (by earlier versions)
// pass through; a file not in the archive fails and leaves nothing.
func TestRestoreCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, archive := filepath.Join(dir, "data"), filepath.Join(dir, "archive")
	for _, d := range []string{data, archive} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(archive, "00000002.history"), []byte("1\t0/3000000\tno recovery target specified\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runRestoreCommand(t, archive, data, "00000002.history"); err != nil {
		t.Fatalf("restore of an uncompressed file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "restored")); !strings.HasPrefix(string(b), "1\t0/3000000") {
		t.Errorf("uncompressed file restored as %q", b)
	}
	if err := os.Remove(filepath.Join(data, "restored")); err != nil {
		t.Fatal(err)
	}
	if err := runRestoreCommand(t, archive, data, "000000010000000000000009"); err == nil {
		t.Error("restoring a file the archive does not have succeeded")
	}
	if _, err := os.Stat(filepath.Join(data, "restored")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed restore left a file: %v", err)
	}
}

func TestArchiveSettings(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{ID: "c1", Nodes: []engine.Node{{ID: "n1", Role: engine.RoleMaster, Port: 5432, Dir: "/tmp/n1"}}}
	in := confInput{cluster: c, node: pathsOf(&c.Nodes[0]), host: []string{"127.0.0.1"}}
	conf, _, err := renderConf(in)
	if err != nil || strings.Contains(conf, "archive_mode") {
		t.Fatalf("without an archive directory: %v\n%s", err, conf)
	}
	c.ArchiveDir = "/var/lib/dbaasd/backups/c1/wal"
	conf, eff, err := renderConf(in)
	if err != nil {
		t.Fatal(err)
	}
	if eff["archive_mode"] != "on" || eff["archive_timeout"] != "'60s'" || !strings.Contains(eff["archive_command"], "/var/lib/dbaasd/backups/c1/wal") {
		t.Errorf("archive settings: %v", eff)
	}
	if i, j := strings.Index(conf, "# Managed by dbaasd"), strings.Index(conf, "archive_command"); j < i {
		t.Errorf("archive_command is not in the managed section:\n%s", conf)
	}
	// Users cannot override them.
	c.Config = map[string]any{"archive_command": "true"}
	if _, _, err := renderConf(in); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("a user's archive_command: %v", err)
	}
	c.Config = nil
	for _, bad := range []string{"relative/wal", "/with'quote", "/with%percent"} {
		c.ArchiveDir = bad
		if _, _, err := renderConf(in); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("archive directory %q: %v", bad, err)
		}
	}
}

func TestBackupPositions(t *testing.T) {
	t.Parallel()
	out := `pg_basebackup: initiating base backup, waiting for checkpoint to complete
pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1
pg_basebackup: write-ahead log end point: 0/2000100
pg_basebackup: base backup completed`
	pos := parseBackupLog(out)
	if pos != "start=0/2000028 end=0/2000100 timeline=1" {
		t.Fatalf("position = %q", pos)
	}
	bp, err := parsePosition(pos)
	if err != nil || bp.start != 0x2000028 || bp.end != 0x2000100 || bp.timeline != 1 {
		t.Fatalf("parsed %+v %v", bp, err)
	}
	if _, err := parsePosition("start=0/1"); err == nil {
		t.Error("a position without end point parsed")
	}
	if got := segmentName(1, 0x2000100); got != "000000010000000000000002" {
		t.Errorf("segment of 0/2000100 = %s", got)
	}
	if got := segmentName(3, 0x1_FF000000); got != "0000000300000001000000FF" {
		t.Errorf("segment of 1/FF000000 = %s", got)
	}
	if got := nextSegment("0000000100000000000000FF"); got != "000000010000000100000000" {
		t.Errorf("after 0/FF: %s", got)
	}
}

func TestArchiveGap(t *testing.T) {
	t.Parallel()
	bp := backupPosition{end: 0x3000100, timeline: 1} // ends in segment 3
	cases := []struct {
		files []string
		gap   string
	}{
		{nil, ""},
		{[]string{"000000010000000000000001", "000000010000000000000003", "000000010000000000000004"}, ""},
		{[]string{"000000010000000000000003", "000000010000000000000005"}, "000000010000000000000004"},
		{[]string{"000000010000000000000004"}, "000000010000000000000003"},
		// A new timeline starts inside the last segments of the old one.
		{[]string{"000000010000000000000003", "000000010000000000000004", "00000002.history", "000000020000000000000004", "000000020000000000000005"}, ""},
		{[]string{"000000010000000000000003", "000000020000000000000004", "000000020000000000000006"}, "000000020000000000000005"},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		for _, f := range tc.files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if gap, err := archiveGap(dir, bp); err != nil || gap != tc.gap {
			t.Errorf("%v: gap %q %v, want %q", tc.files, gap, err, tc.gap)
		}
	}
}

func TestRestoreConf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := nodePaths{id: "n1", data: dir}
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := proc.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{r: r}
	target := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	if err := writeRestoreConf(e, p, "/b/restore/wal", &target); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "conf.d", restoreConfFile))
	for _, want := range []string{`restore_command = 'f=''/b/restore/wal/%f''; [ -f "$f" ] && zstd -dcqf "$f" > "%p"'`, "recovery_target_time = '2026-11-26 10:00:00+00'",
		"recovery_target_action = 'promote'", "recovery_target_timeline = 'latest'"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("restore conf lacks %s:\n%s", want, b)
		}
	}
	if err := writeRestoreConf(e, p, "", nil); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "conf.d", restoreConfFile))
	if strings.Contains(string(b), "recovery_target_time =") || !strings.Contains(string(b), "restore_command = 'false'") {
		t.Errorf("latest-state restore conf:\n%s", b)
	}
}
