package main

import (
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/sysinfo"
)

func sysinfoForTest() sysinfo.Info {
	return sysinfo.Info{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Cores: 2, CPUModel: "test", MemTotal: 1 << 30,
		Kernel: "6.0", OS: "Debian", GoVersion: "go1.26", LoadAvg: "0 0 0"}
}
