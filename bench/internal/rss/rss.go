// Package rss reads the memory footprint of processes from /proc: the
// resident set size (RSS, which counts shared pages once per process) and
// the proportional set size (PSS, which splits shared pages among the
// processes sharing them, so sums over several processes add up).
package rss

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Usage is the memory of one or several processes, in bytes.
type Usage struct {
	Procs int
	RSS   int64
	PSS   int64
}

// MiB converts bytes to mebibytes.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }

// Of returns the memory of one process.
func Of(pid int) (Usage, error) {
	rss, err := field(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	if err != nil {
		return Usage{}, fmt.Errorf("rss of %d: %w", pid, err)
	}
	// smaps_rollup needs the same user or root; without it PSS stays 0.
	pss, _ := field(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	return Usage{Procs: 1, RSS: rss, PSS: pss}, nil
}

// Sum returns the memory of several processes (processes that ended
// meanwhile are skipped).
func Sum(pids []int) Usage {
	var u Usage
	for _, pid := range pids {
		one, err := Of(pid)
		if err != nil {
			continue
		}
		u.Procs++
		u.RSS += one.RSS
		u.PSS += one.PSS
	}
	return u
}

// field returns a "Name:   123 kB" value of a /proc file in bytes.
func field(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		fs := strings.Fields(line[len(name):])
		if len(fs) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// CPUSeconds returns the user plus system CPU time a process has used.
func CPUSeconds(pid int) (float64, error) {
	st, err := proc.ReadStat(pid)
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	return st.OwnCPU, nil
}

// TotalCPUSeconds is CPUSeconds with the CPU time of the children the
// process waited for (which includes their own waited-for children): the
// work of a process and of everything it ran and reaped.
func TotalCPUSeconds(pid int) (float64, error) {
	st, err := proc.ReadStat(pid)
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	return st.OwnCPU + st.ChildCPU, nil
}

// clockTicks is the unit of /proc/stat's times (USER_HZ, 100 on Linux).
const clockTicks = 100

// MachineBusySeconds returns the CPU time all cores of the machine have
// spent busy since boot (the first line of /proc/stat: user, nice,
// system, irq, softirq and steal; idle and iowait are not busy): the work
// of every process, and of the kernel for them.
func MachineBusySeconds() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine cpu: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("machine cpu: unexpected /proc/stat line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("machine cpu: %w", err)
		}
		busy += v
	}
	return float64(busy) / clockTicks, nil
}
