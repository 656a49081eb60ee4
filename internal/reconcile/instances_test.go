package reconcile

import (
	"log/slog"
	"os"
	"testing"
	"time"
)

// The instances of a datastore in ERROR are observed every errorLookEvery;
// one without a directory is observed once, then only looked for until
// its directory appears.
func TestInstancesDue(t *testing.T) {
	t.Parallel()
	r := New(nil, nil, Config{DataDir: t.TempDir(), ProbeInterval: time.Second}, slog.New(slog.DiscardHandler))
	clock := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return clock }
	const live, dirless = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	if err := os.MkdirAll(r.Layout().ClusterDir(live), 0o700); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance       time.Duration
		live, dirless bool
	}{
		{0, true, true},               // first look at both
		{time.Second, false, false},   // too soon for both
		{errorLookEvery, true, false}, // the live one again; the dirless one is not due
		{errorLookIdle, true, false},  // due, but already seen without a directory
		{errorLookIdle, true, false},  // and still
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		if got := r.instancesDue(live); got != s.live {
			t.Errorf("step %d: live due = %v, want %v", i, got, s.live)
		}
		if got := r.instancesDue(dirless); got != s.dirless {
			t.Errorf("step %d: dirless due = %v, want %v", i, got, s.dirless)
		}
	}
	// Its directory appears: it is observed again at its next look.
	if err := os.MkdirAll(r.Layout().ClusterDir(dirless), 0o700); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(errorLookIdle)
	if !r.instancesDue(dirless) {
		t.Error("a datastore whose directory appeared is not observed")
	}
}
