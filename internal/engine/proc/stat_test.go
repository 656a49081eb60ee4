package proc

import (
	"os"
	"testing"
)

// TestParseStat parses /proc/<pid>/stat lines, including command names
// that hold spaces and parentheses, and refuses malformed ones.
func TestParseStat(t *testing.T) {
	t.Parallel()
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority
	// nice threads itrealvalue starttime vsize rss …
	tail := " 7 42 42 0 -1 4194560 1 0 0 0 150 50 100 30 20 0 1 0 900 1000000 10 18446744073709551615\n"
	for _, tc := range []struct {
		name    string
		line    string
		want    Stat
		wantErr bool
	}{
		{"sleeping", "42 (redis-server) S" + tail,
			Stat{State: 'S', PPID: 7, Flags: 4194560, OwnCPU: 2, ChildCPU: 1.3, StartTicks: 900, RSSPages: 10}, false},
		{"command with spaces and parentheses", "42 (a) b (c) Z" + tail,
			Stat{State: 'Z', PPID: 7, Flags: 4194560, OwnCPU: 2, ChildCPU: 1.3, StartTicks: 900, RSSPages: 10}, false},
		{"no command name", "42 redis S" + tail, Stat{}, true},
		{"cut short", "42 (redis) S 7 42", Stat{}, true},
		{"ppid not a number", "42 (redis) S x 42 42 0 -1 0 1 0 0 0 150 50 100 30 20 0 1 0 900 1000000 10 0\n", Stat{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStat([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStat: error %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("parseStat = %+v, want %+v", got, tc.want)
			}
		})
	}
	if st := (Stat{State: 'Z'}); st.Alive() {
		t.Error("a zombie counts as alive")
	}
}

// TestReadStatOfSelf reads this test's own process.
func TestReadStatOfSelf(t *testing.T) {
	t.Parallel()
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Alive() || st.PPID != os.Getppid() || st.StartTicks <= 0 || st.RSSPages <= 0 {
		t.Errorf("ReadStat(self) = %+v", st)
	}
}
