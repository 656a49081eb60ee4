package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. The kernel
// reports them in USER_HZ, which is 100 on every architecture Linux
// exposes to user space (sysconf(_SC_CLK_TCK)).
const userHZ = 100

// Stat is what dbaasd reads of a process's /proc/<pid>/stat: the one
// parser of that file for the supervisor, telemetry, the tests and the
// benchmarks.
type Stat struct {
	// State is the process state: R, S, D, T, Z (zombie), X (dead)…
	State byte
	PPID  int
	// Flags are the kernel's task flags (PF_EXITING…).
	Flags uint64
	// OwnCPU is the user and system CPU time the process used, in
	// seconds; ChildCPU that of its children it waited for (with their
	// own waited-for children).
	OwnCPU, ChildCPU float64
	// StartTicks is when the process started, in clock ticks after boot
	// (with the pid, it names one process over time).
	StartTicks int64
	// RSSPages is its resident set size, in pages.
	RSSPages int64
}

// Alive reports a process that runs or sleeps: not a zombie or dead.
func (s Stat) Alive() bool { return s.State != 'Z' && s.State != 'X' }

// ReadStat reads and parses /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) { return readStat("/proc", pid) }

func readStat(root string, pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return st, fmt.Errorf("stat of %d: %w", pid, err)
	}
	return st, nil
}

// parseStat parses the content of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses,
// so fields are counted from the last ')'.
func parseStat(b []byte) (Stat, error) {
	var st Stat
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st, fmt.Errorf("malformed: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 22 || len(f[0]) != 1 {
		return st, fmt.Errorf("malformed: %d fields", len(f)+2)
	}
	st.State = f[0][0]
	var err error
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return st, fmt.Errorf("malformed ppid: %w", err)
	}
	if st.Flags, err = strconv.ParseUint(f[6], 10, 64); err != nil {
		return st, fmt.Errorf("malformed flags: %w", err)
	}
	var ticks [4]int64 // utime, stime, cutime, cstime
	for k := range ticks {
		if ticks[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return st, fmt.Errorf("malformed cpu time: %w", err)
		}
	}
	st.OwnCPU = float64(ticks[0]+ticks[1]) / userHZ
	st.ChildCPU = float64(ticks[2]+ticks[3]) / userHZ
	st.StartTicks, _ = strconv.ParseInt(f[19], 10, 64)
	st.RSSPages, _ = strconv.ParseInt(f[21], 10, 64)
	return st, nil
}
