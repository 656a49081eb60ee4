package backup

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func day(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }

// base is a complete base backup started an hour before it was consistent.
func base(id string, consistent time.Time) store.Backup {
	return store.Backup{ID: id, Kind: store.BackupKindBase, Status: store.BackupComplete,
		StartedAt: consistent.Add(-time.Hour), ConsistentAt: &consistent, Location: "ds/base/" + id}
}

func archived(name string, at time.Time) store.ArchiveFile {
	return store.ArchiveFile{Name: name, ArchivedAt: at}
}

func ids(bs []store.Backup) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return fmt.Sprint(out)
}

func TestPlanPrune(t *testing.T) {
	t.Parallel()
	backups := []store.Backup{base("b1", day(1)), base("b2", day(2)), base("b3", day(3)), base("b4", day(4))}
	running := store.Backup{ID: "r", Status: store.BackupRunning, StartedAt: day(0.5)}
	files := []store.ArchiveFile{archived("w1", day(1.5)), archived("w2", day(2)), archived("w3", day(2.5)), archived("w4", day(3.5))}
	deletedAt := day(4.5)
	cases := []struct {
		name          string
		ds            model.Datastore
		backups       []store.Backup
		now           time.Time
		wantBackups   string
		wantFiles     string
		wantAll, none bool
	}{
		{name: "everything inside the retention", ds: model.Datastore{BackupRetentionDays: 7}, backups: backups, now: day(5), none: true},
		// 106752 days overflow a time.Duration: a negative retention would
		// prune every backup but the newest.
		{name: "a retention beyond a duration keeps everything", ds: model.Datastore{BackupRetentionDays: 106752}, backups: backups, now: day(30), none: true},
		// cutoff day 2.5: b2 is the newest at or before it; files archived
		// before b2 started (day 2 - 1h) go.
		{name: "cutoff between backups", ds: model.Datastore{BackupRetentionDays: 2}, backups: backups, now: day(4.5),
			wantBackups: "[b1]", wantFiles: "[w1]"},
		// cutoff exactly at b3: it is kept as the window's start.
		{name: "cutoff on a backup", ds: model.Datastore{BackupRetentionDays: 1}, backups: backups, now: day(4),
			wantBackups: "[b1 b2]", wantFiles: "[w1 w2 w3]"},
		{name: "every backup older than the cutoff keeps the newest", ds: model.Datastore{BackupRetentionDays: 1}, backups: backups, now: day(30),
			wantBackups: "[b1 b2 b3]", wantFiles: "[w1 w2 w3 w4]"},
		{name: "a running backup is left alone", ds: model.Datastore{BackupRetentionDays: 1}, backups: append([]store.Backup{running}, backups...), now: day(30),
			wantBackups: "[b1 b2 b3]", wantFiles: "[w1 w2 w3 w4]"},
		{name: "no complete backup keeps the archive", ds: model.Datastore{BackupRetentionDays: 1}, backups: []store.Backup{running}, now: day(30), none: true},
		{name: "deleted, inside the retention", ds: model.Datastore{BackupRetentionDays: 7, Deleted: true, DeletedAt: &deletedAt}, backups: backups, now: day(8), none: true},
		{name: "deleted, its window shrinks", ds: model.Datastore{BackupRetentionDays: 7, Deleted: true, DeletedAt: &deletedAt}, backups: backups, now: day(11),
			wantBackups: "[b1 b2 b3]", wantFiles: "[w1 w2 w3 w4]"},
		{name: "deleted, past the retention", ds: model.Datastore{BackupRetentionDays: 7, Deleted: true, DeletedAt: &deletedAt}, backups: backups, now: day(11.6),
			wantAll: true, wantBackups: "[b1 b2 b3 b4]", wantFiles: "[w1 w2 w3 w4]"},
		{name: "deleted without a backup", ds: model.Datastore{BackupRetentionDays: 7, Deleted: true, DeletedAt: &deletedAt}, backups: []store.Backup{running}, now: day(5),
			wantAll: true, wantBackups: "[r]", wantFiles: "[w1 w2 w3 w4]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planPrune(&tc.ds, tc.backups, files, tc.now)
			if tc.none {
				if !p.empty() {
					t.Fatalf("want nothing removed, got backups %s files %v all %v", ids(p.backups), p.files, p.all)
				}
				return
			}
			if ids(p.backups) != tc.wantBackups || fmt.Sprint(p.files) != tc.wantFiles || p.all != tc.wantAll {
				t.Fatalf("got backups %s files %v all %v; want %s %s %v", ids(p.backups), p.files, p.all, tc.wantBackups, tc.wantFiles, tc.wantAll)
			}
			// Whatever is kept still covers every point from the cutoff on.
			if !p.all {
				kept := keptBackups(tc.backups, p.backups)
				w, ok := store.Window(kept, nil, false, tc.now)
				cutoff := tc.now.Add(-time.Duration(tc.ds.BackupRetentionDays) * 24 * time.Hour)
				if !ok || (w.From.After(cutoff) && len(p.backups) > 0) {
					t.Fatalf("window %v after pruning does not reach the cutoff %v", w, cutoff)
				}
			}
		})
	}
}

func keptBackups(all, removed []store.Backup) []store.Backup {
	gone := map[string]bool{}
	for _, b := range removed {
		gone[b.ID] = true
	}
	var out []store.Backup
	for _, b := range all {
		if !gone[b.ID] {
			out = append(out, b)
		}
	}
	return out
}
