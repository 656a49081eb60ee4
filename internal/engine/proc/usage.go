package proc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Usage is what a server uses: its process and every descendant (a
// PostgreSQL postmaster and its backends, mariadbd, redis-server and its
// save children).
type Usage struct {
	// CPUSeconds is the user and system CPU time used so far, including
	// children that exited and were reaped. It only grows (a counter).
	CPUSeconds float64
	// MemoryBytes is the memory resident now: the proportional set size
	// (shared pages divided among the processes sharing them) where the
	// kernel reports it, else the resident set size.
	MemoryBytes int64
	// Processes is how many processes were counted.
	Processes int
}

// TreeUsage measures process pid and its descendants from /proc.
func TreeUsage(pid int) (Usage, error) { return treeUsage("/proc", pid) }

// Processes is a snapshot of the machine's processes, to measure many
// process trees with one pass over /proc.
type Processes struct {
	root     string
	stats    map[int]Stat
	children map[int][]int
}

// ReadProcesses takes a snapshot of /proc.
func ReadProcesses() (*Processes, error) { return readProcesses("/proc") }

func readProcesses(root string) (*Processes, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	p := &Processes{root: root, stats: map[int]Stat{}, children: map[int][]int{}}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(root, pid)
		if err != nil {
			continue // exited meanwhile
		}
		p.stats[pid] = st
		p.children[st.PPID] = append(p.children[st.PPID], pid)
	}
	return p, nil
}

// TreeUsage measures process pid and its descendants as they were when
// the snapshot was taken (memory is read now).
func (p *Processes) TreeUsage(pid int) (Usage, error) {
	var u Usage
	if _, ok := p.stats[pid]; !ok || pid <= 0 {
		return u, fmt.Errorf("process usage: no process %d", pid)
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, p.children[tree[i]]...)
	}
	page := int64(os.Getpagesize())
	for _, q := range tree {
		st := p.stats[q]
		u.CPUSeconds += st.OwnCPU + st.ChildCPU
		if pss, ok := p.pss(q, st); ok {
			u.MemoryBytes += pss
		} else {
			u.MemoryBytes += st.RSSPages * page
		}
		u.Processes++
	}
	return u, nil
}

func treeUsage(root string, pid int) (Usage, error) {
	if pid <= 0 {
		return Usage{}, fmt.Errorf("process usage: no process (pid %d)", pid)
	}
	p, err := readProcesses(root)
	if err != nil {
		return Usage{}, err
	}
	return p.TreeUsage(pid)
}

// readPss returns the proportional set size of a process in bytes from
// /proc/<pid>/smaps_rollup, when the kernel has it and we may read it.
func readPss(root string, pid int) (int64, bool) {
	f, err := os.Open(filepath.Join(root, strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Pss:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
