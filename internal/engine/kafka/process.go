package kafka

import (
	"bytes"
	"fmt"
	"os"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// isBroker reports whether pid is a live broker process started with this
// configuration file: the pid is alive and the file's path is one of its
// arguments. This guards against a stale pid file whose number the kernel
// has since given to another process.
func isBroker(pid int, configPath string) bool {
	if !proc.Alive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if string(arg) == configPath {
			return true
		}
	}
	return false
}
