package postgres

import (
	"testing"
	"time"
)

func TestSizeMeasuredAgainOnlyWhenItMayHaveChanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	e := sizeEntry{size: 4 << 30, lsn: 1 << 30, at: at}     // 1/64 of it is 64 MB
	small := uint64(e.size/64/2) - 1                        // WAL whose doubled growth stays under 1/64 of the size
	tiny := sizeEntry{size: 40 << 20, lsn: 1 << 30, at: at} // a new cluster's directory
	tolerated := uint64(sizeTolerance/2) - 1                // WAL whose doubled growth stays under sizeTolerance
	cases := []struct {
		name  string
		age   time.Duration
		lsn   uint64
		limit int64
		want  bool
	}{
		{"same WAL, recent", time.Second, e.lsn, 0, false},
		{"same WAL, just under the maximum age", sizeMaxAge - time.Millisecond, e.lsn, 0, false},
		{"same WAL, maximum age reached", sizeMaxAge, e.lsn, 0, true},
		{"clock went back", -time.Second, e.lsn, 0, true},
		{"WAL went back", time.Millisecond, e.lsn - 1, 0, true},
		{"server did not say, recent", sizeRecheck - time.Millisecond, 0, 0, false},
		{"server did not say", sizeRecheck, 0, 0, true},
		{"much WAL, but measured moments ago", sizeRecheck - time.Millisecond, e.lsn + 1<<30, 0, false},
		{"much WAL", sizeRecheck, e.lsn + 1<<30, 0, true},
		{"two segments", sizeRecheck, e.lsn + 32<<20, 0, false},
		{"a few records", sizeRecheck, e.lsn + 200, 0, false},
		{"just under 1/64", sizeRecheck, e.lsn + small, 0, false},
		{"just over 1/64", sizeRecheck, e.lsn + small + 2, 0, true},
		{"a few records far from the limit", sizeRecheck, e.lsn + 200, 10 << 30, false},
		{"a few records near the limit", sizeRecheck, e.lsn + 200, e.size + sizeSlack + 300, true},
		{"no WAL near the limit", sizeRecheck, e.lsn, e.size + 1, false},
	}
	for _, tc := range cases {
		if got := e.stale(at.Add(tc.age), tc.lsn, tc.limit); got != tc.want {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A small directory: up to sizeTolerance is missed, not 1/64 of it.
	for _, tc := range []struct {
		name string
		lsn  uint64
		want bool
	}{
		{"a forced segment switch", tiny.lsn + 16<<20 - 1, false},
		{"just under the tolerance", tiny.lsn + tolerated, false},
		{"just over the tolerance", tiny.lsn + tolerated + 2, true},
	} {
		if got := tiny.stale(at.Add(sizeRecheck), tc.lsn, 0); got != tc.want {
			t.Errorf("small directory, %s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
}
