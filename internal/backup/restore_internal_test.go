package backup

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func TestChooseBackup(t *testing.T) {
	t.Parallel()
	src := &model.Datastore{Base: model.Base{ID: "src"}}
	backups := []store.Backup{base("b2", day(2)), base("b1", day(1)), {ID: "r", Status: store.BackupRunning, StartedAt: day(3)}}
	files := []store.ArchiveFile{archived("w", day(2.5))}
	at := func(d float64) *time.Time { v := day(d); return &v }
	cases := []struct {
		target     *time.Time
		archivedTo time.Time
		want       string // backup ID or an error fragment
	}{
		{nil, time.Time{}, "b2"},
		{at(1), time.Time{}, "b1"},
		{at(1.9), time.Time{}, "b1"},
		{at(2), time.Time{}, "b2"},
		{at(2.5), time.Time{}, "b2"},
		{at(0.5), time.Time{}, "choose a time between 2026-11-21T00:00:00 and 2026-11-22T12:00:00"},
		{at(2.6), time.Time{}, "choose a time between"},
		{at(2.6), day(2.7), "b2"}, // the source archived up to then just now
	}
	for _, tc := range cases {
		got, err := chooseBackup(src, backups, files, tc.target, tc.archivedTo)
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, engine.ErrInvalid) {
				t.Errorf("target %v: %v, want %q", tc.target, err, tc.want)
			}
		case got.ID != tc.want:
			t.Errorf("target %v: chose %s, want %s", tc.target, got.ID, tc.want)
		}
	}
	if _, err := chooseBackup(src, nil, nil, nil, time.Time{}); err == nil || !strings.Contains(err.Error(), "no complete backup") {
		t.Errorf("no backups: %v", err)
	}
	// Snapshots serve any later time with the newest one before it.
	snaps := []store.Backup{{ID: "s1", Kind: store.BackupKindSnapshot, Status: store.BackupComplete, ConsistentAt: at(1)},
		{ID: "s2", Kind: store.BackupKindSnapshot, Status: store.BackupComplete, ConsistentAt: at(2)}}
	if got, err := chooseBackup(src, snaps, nil, at(1.5), time.Time{}); err != nil || got.ID != "s1" {
		t.Errorf("snapshot at 1.5: %v %v", got.ID, err)
	}
}

func TestArchiveNeeded(t *testing.T) {
	t.Parallel()
	files := []store.ArchiveFile{archived("00000002.history", day(0)), archived("a", day(0.5)), archived("b", day(1.5)),
		archived("c", day(2.5)), archived("d", day(3.5)), archived("e", day(4.5)), archived("f", day(5.5))}
	names := func(fs []store.ArchiveFile) string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return fmt.Sprint(out)
	}
	target := day(2)
	if got := names(archiveNeeded(files, day(1), nil)); got != "[00000002.history b c d e f]" {
		t.Errorf("latest: %s", got)
	}
	if got := names(archiveNeeded(files, day(1), &target)); got != "[00000002.history b c d]" {
		t.Errorf("to day 2: %s", got)
	}
}

func TestCeilSecond(t *testing.T) {
	t.Parallel()
	exact := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if got := ceilSecond(exact); !got.Equal(exact) {
		t.Errorf("whole second moved: %v", got)
	}
	if got := ceilSecond(exact.Add(time.Millisecond)); !got.Equal(exact.Add(time.Second)) {
		t.Errorf("ceil = %v", got)
	}
}
