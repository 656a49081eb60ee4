package backup

import (
	"os"
	"syscall"
)

const (
	syscallEXDEV       = syscall.EXDEV
	syscallEWOULDBLOCK = syscall.EWOULDBLOCK
)

// keepOwner gives path the owner of st's file (best effort: only root may).
func keepOwner(st os.FileInfo, path string) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		_ = os.Lchown(path, int(s.Uid), int(s.Gid))
	}
}

// flock takes a lock on an open file: shared or exclusive, waiting for
// it or failing with EWOULDBLOCK.
func flock(f *os.File, shared, wait bool) error {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	return syscall.Flock(int(f.Fd()), how)
}
