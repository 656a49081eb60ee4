package mysql

import "testing"

func TestGtidSeq(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint64{"": 0, "0-1-42": 42, "0-1-42,1-2-7": 42, "1-2-7, 0-1-99": 99, "garbage": 0} {
		if got := gtidSeq(in); got != want {
			t.Errorf("gtidSeq(%q) = %d, want %d", in, got, want)
		}
	}
}
