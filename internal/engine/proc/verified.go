package proc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Running is asked about every server of every datastore each probe round.
// Checked from scratch, that is a stat and a read of the pid file and
// reads of the process's stat, status and command line: about twenty
// system calls per server per round, most of an idle dbaasd's CPU with
// dozens of live clusters. So once a process passed every check, Running
// keeps a pidfd of it (a handle on that very process: the kernel never
// lets it name another, whatever becomes of the process ID) together with
// what the pid file looked like, and answers later calls with a stat of
// the pid file, a poll of the pidfd and Alive for as long as the file is
// unchanged, the process has not exited and the check is younger than
// verifyMaxAge. A changed pid file, an exited process or an older check
// means a full check again. A process that is ending (Exiting) is not
// running, as in the full check (whose command line check fails once the
// process has let go of its memory): the pidfd says gone only once the
// last thread of a multi-threaded server has ended, and Running must not
// name a server that Await, asked next, takes for exited. Start waits for
// such a process to be gone before it starts the next one. The rules a process passed (the daemon's name and
// account) are part of the entry: a different description of the same
// pid file is checked afresh.

// verifyMaxAge is how long a full check of a running process is trusted.
const verifyMaxAge = time.Minute

// verifiedIdle is how long an entry nobody asked about is kept (its
// datastore was stopped or deleted, or its pid file moved).
const verifiedIdle = 5 * time.Minute

// fileID is what a pid file looked like: a rewrite changes it.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
	uid          uint32
}

type verifiedProc struct {
	rules    string // the daemon's name and account the process passed
	file     fileID
	pid      int
	pidfd    int
	verified time.Time
	used     time.Time
}

var verified struct {
	mu    sync.Mutex
	m     map[string]*verifiedProc // by pid file path
	swept time.Time
}

// rules names what a daemon's checks depend on.
func (d *Daemon) rules() string {
	uid := -1
	if d.Runner != nil && d.Runner.switchUser {
		uid = d.Runner.UID
	}
	return d.Name + "\x00" + strconv.Itoa(uid)
}

// pidFileID stats a pid file; false when it is missing or not a regular
// file (a symbolic link counts as none, as in OwnedPid).
func pidFileID(path string) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileID{}, false
	}
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: syscall.Timespec(st.Mtim), ctime: syscall.Timespec(st.Ctim), uid: st.Uid}, true
}

// exited reports whether the process a pidfd refers to has ended (or the
// pidfd cannot tell).
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err != nil || n != 0
	}
}

// cachedRunning answers Running from a verified entry, or false when a
// full check is needed.
func (d *Daemon) cachedRunning(file fileID, now time.Time) (int, bool) {
	verified.mu.Lock()
	defer verified.mu.Unlock()
	v := verified.m[d.PidFile]
	if v == nil {
		return 0, false
	}
	if v.rules != d.rules() || v.file != file || now.Sub(v.verified) >= verifyMaxAge || exited(v.pidfd) {
		forgetLocked(d.PidFile, v)
		return 0, false
	}
	if alive, ending := state(v.pid); !alive || ending {
		forgetLocked(d.PidFile, v)
		return 0, false
	}
	v.used = now
	return v.pid, true
}

// checkRunning is Running's full check. A process that passes it is
// remembered with a pidfd opened before the checks, so that the pidfd is
// of the process that was checked.
func (d *Daemon) checkRunning(file fileID, now time.Time) int {
	pidfd := -1
	if pid := ReadPidFile(d.PidFile); pid > 0 {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			pidfd = fd
		}
	}
	pid := OwnedPid(d.PidFile)
	if pid == 0 || !d.ours(pid) {
		closeFd(pidfd)
		return 0
	}
	if pidfd < 0 || ReadPidFile(d.PidFile) != pid || exited(pidfd) {
		closeFd(pidfd) // no pidfd of the process that was checked: no entry
		return pid
	}
	if again, ok := pidFileID(d.PidFile); !ok || again != file {
		closeFd(pidfd) // rewritten while checked: check again next time
		return pid
	}
	verified.mu.Lock()
	defer verified.mu.Unlock()
	if verified.m == nil {
		verified.m = map[string]*verifiedProc{}
	}
	if old := verified.m[d.PidFile]; old != nil {
		forgetLocked(d.PidFile, old)
	}
	verified.m[d.PidFile] = &verifiedProc{rules: d.rules(), file: file, pid: pid, pidfd: pidfd, verified: now, used: now}
	if now.Sub(verified.swept) > verifiedIdle {
		verified.swept = now
		for path, v := range verified.m {
			if now.Sub(v.used) > verifiedIdle {
				forgetLocked(path, v)
			}
		}
	}
	return pid
}

// forgetVerified drops what Running remembered of a pid file (its process
// was stopped).
func forgetVerified(path string) {
	verified.mu.Lock()
	defer verified.mu.Unlock()
	if v := verified.m[path]; v != nil {
		forgetLocked(path, v)
	}
}

func forgetLocked(path string, v *verifiedProc) {
	closeFd(v.pidfd)
	delete(verified.m, path)
}

func closeFd(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// awaitGone waits, within timeout, until process pid has ended entirely
// (every thread gone).
func awaitGone(ctx context.Context, pid int, timeout time.Duration) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone already (or no pidfds: nothing to wait with)
	}
	defer closeFd(fd)
	deadline := time.Now().Add(timeout)
	for !exited(fd) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(Poll)
	}
}
