package rss

import (
	"os"
	"testing"
)

func TestOfSelf(t *testing.T) {
	t.Parallel()
	u, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs != 1 || u.RSS < 1<<20 {
		t.Errorf("implausible footprint of the test binary: %+v", u)
	}
	if s := Sum([]int{os.Getpid(), -1}); s.Procs != 1 || s.RSS == 0 {
		t.Errorf("Sum must skip unknown processes: %+v", s)
	}
	own, err := CPUSeconds(os.Getpid())
	if err != nil {
		t.Error(err)
	}
	if all, err := TotalCPUSeconds(os.Getpid()); err != nil || all < own {
		t.Errorf("TotalCPUSeconds = %v, %v; want at least CPUSeconds (%v)", all, err, own)
	}
	if _, err := TotalCPUSeconds(-1); err == nil {
		t.Error("TotalCPUSeconds of no process: want an error")
	}
	m0, err := MachineBusySeconds()
	if err != nil || m0 <= 0 {
		t.Fatalf("MachineBusySeconds = %v, %v", m0, err)
	}
	for c0, _ := CPUSeconds(os.Getpid()); ; {
		if c, _ := CPUSeconds(os.Getpid()); c-c0 >= 0.05 {
			break
		}
	}
	// Both counters move in clock ticks (10 ms): the machine's may round
	// down by a tick at each end where the process's rounded up.
	if m1, err := MachineBusySeconds(); err != nil || m1-m0 < 0.05-0.02-1e-9 {
		t.Errorf("after 50 ms of this process's CPU the machine was busy %v s more (%v)", m1-m0, err)
	}
}
