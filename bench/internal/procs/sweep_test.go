package procs

import "testing"

func TestNamesDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"postgres\x00-D\x00/tmp/b-1/clusters/x/data\x00", true},
		{"dbaasd\x00--data-dir\x00/tmp/b-1\x00", true},
		{"dbaasd\x00--data-dir=/tmp/b-1", true},
		{"dbaasd\x00--data-dir\x00/tmp/b-12\x00", false},
		{"redis-server 127.0.0.1:21000", false},
		{"x\x00/tmp/b-12\x00/tmp/b-1/y\x00", true},
	} {
		if got := namesDir([]byte(tc.cmdline), "/tmp/b-1"); got != tc.want {
			t.Errorf("namesDir(%q) = %v, want %v", tc.cmdline, got, tc.want)
		}
	}
}
