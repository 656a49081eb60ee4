package cnpg

import (
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// The operator prunes backups only where it keeps them (object storage),
// by a recovery window of the datastore's retention in days.
func TestRetentionPolicy(t *testing.T) {
	t.Parallel()
	if (&Driver{}).AppliesRetention() {
		t.Error("a driver without object storage claims to apply retention")
	}
	if !(&Driver{opts: Options{ObjectStore: &ObjectStore{Bucket: "b"}}}).AppliesRetention() {
		t.Error("a driver with object storage does not apply retention")
	}
	for days, want := range map[int]string{0: "1d", 1: "1d", 7: "7d", 3650: "3650d"} {
		if got := retentionPolicy(&engine.Cluster{BackupRetentionDays: days}); got != want {
			t.Errorf("%d days: %q, want %q", days, got, want)
		}
	}
}
