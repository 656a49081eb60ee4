package catalog

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Machine is the capacity of the host the engines run on.
type Machine struct {
	CPUs      int
	RAMMB     int
	DiskGB    int // free space in the data dir's file system
	Processor string
}

// DetectMachine reads the host's capacity; dataDir is where clusters live.
func DetectMachine(dataDir string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), RAMMB: 1024, DiskGB: 10, Processor: "unknown"}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kb, err := strconv.Atoi(fields[1]); err == nil {
					m.RAMMB = kb / 1024
				}
			}
		}
		_ = f.Close()
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Processor = strings.TrimSpace(v)
				break
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dataDir, &st); err == nil {
		m.DiskGB = int(st.Bavail * uint64(st.Bsize) >> 30)
	}
	return m
}
