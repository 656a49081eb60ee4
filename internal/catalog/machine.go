package catalog

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Machine is the capacity of the host the engines run on (on Kubernetes:
// the most one node can give a pod).
type Machine struct {
	CPUs      int
	RAMMB     int
	DiskGB    int // free space in the data dir's file system
	Processor string
	// VCPUsLimit is the most vCPUs a datastore node may have; 0 = twice
	// CPUs, as the nodes of the local runtime share the host's cores.
	VCPUsLimit int
}

// MaxVCPUs is the most vCPUs a datastore node may have.
func (m Machine) MaxVCPUs() int {
	if m.VCPUsLimit > 0 {
		return m.VCPUsLimit
	}
	return max(2, 2*m.CPUs)
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
