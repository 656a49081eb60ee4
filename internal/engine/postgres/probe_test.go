package postgres

import (
	"testing"
	"time"
)

func TestSizeMeasuredAgainOnlyWhenItMayHaveChanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	e := sizeEntry{size: 64 << 20, lsn: 1 << 30, at: at}
	small := uint64(e.size/64/2) - 1 // WAL whose doubled growth stays under 1/64 of the size
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
		{"a segment switch", sizeRecheck, e.lsn + 16<<20, 0, true},
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
}
