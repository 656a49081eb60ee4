package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// As runs f with the runner's user as the file-system identity of the
// calling thread (setfsuid, setfsgid and no supplementary groups), when
// dbaasd runs as root and the runner is another user's: every file
// operation in f is checked, and what it creates is owned, as that user.
//
// A datastore's OS account owns its directories, so whatever runs as that
// account (its engine, or someone who took it over) can put symbolic links
// there. dbaasd, root, writes configuration, logs and data into those
// directories; done as root, a link planted in place of a file (or of a
// directory on the way to it) would make root write where the account may
// not, such as /etc. Done through As, the kernel checks the account's
// rights, so a planted link leads nowhere the account could not go itself.
//
// f runs on a thread of its own (runtime.LockOSThread) and must not hand
// file operations to other goroutines: only the calling thread changes.
func (r *Runner) As(f func() error) error {
	if !r.switchUser || os.Geteuid() != 0 {
		return f()
	}
	if r.UID < 0 {
		return fmt.Errorf("OS account %s does not exist", r.User)
	}
	runtime.LockOSThread()
	groups, err := unix.Getgroups()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("file identity of %s: %w", r.User, err)
	}
	restored := false
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		}
		// Otherwise the thread keeps the account's identity: leaving it
		// locked makes the runtime end it with this goroutine.
	}()
	if err := setThreadGroups(nil); err != nil {
		restored = setThreadGroups(groups) == nil
		return fmt.Errorf("file identity of %s: %w", r.User, err)
	}
	_, _ = unix.SetfsgidRetGid(r.GID)
	_, _ = unix.SetfsuidRetUid(r.UID)
	defer func() {
		_, _ = unix.SetfsuidRetUid(0)
		_, _ = unix.SetfsgidRetGid(0)
		// setfsuid(-1) changes nothing and returns the current fsuid.
		uid, _ := unix.SetfsuidRetUid(-1)
		gid, _ := unix.SetfsgidRetGid(-1)
		restored = uid == 0 && gid == 0 && setThreadGroups(groups) == nil
	}()
	if uid, _ := unix.SetfsuidRetUid(-1); uid != r.UID {
		return fmt.Errorf("file identity of %s: setfsuid(%d) did not take", r.User, r.UID)
	}
	return f()
}

// setThreadGroups sets the supplementary groups of the calling thread only
// (the raw system call; the C library and syscall.Setgroups change every
// thread of the process).
func setThreadGroups(groups []int) error {
	gids := make([]uint32, len(groups))
	for i, g := range groups {
		gids[i] = uint32(g)
	}
	var p unsafe.Pointer
	if len(gids) > 0 {
		p = unsafe.Pointer(&gids[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(p), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	return nil
}

// ReadFile reads a file as the runner's user (see As).
func (r *Runner) ReadFile(path string) ([]byte, error) {
	var b []byte
	err := r.As(func() error {
		var err error
		b, err = os.ReadFile(path)
		return err
	})
	return b, err
}

// ReadFileTail reads at most the last n bytes of a file, as the runner's
// user (see As).
func (r *Runner) ReadFileTail(path string, n int64) ([]byte, error) {
	var b []byte
	err := r.As(func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read only
		st, err := f.Stat()
		if err != nil {
			return err
		}
		off := max(st.Size()-n, 0)
		b = make([]byte, st.Size()-off)
		read, err := f.ReadAt(b, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		b = b[:read]
		return nil
	})
	return b, err
}

// Rename renames a file as the runner's user (see As).
func (r *Runner) Rename(from, to string) error {
	return r.As(func() error { return os.Rename(from, to) })
}

// RemoveAll removes a tree as the runner's user (see As).
func (r *Runner) RemoveAll(path string) error {
	return r.As(func() error { return os.RemoveAll(path) })
}

// ClaimDir makes dir, whose parent belongs to root (or to dbaasd's own
// user), a private (0700) directory of the runner's user: the top of a
// tree the runner's user owns, such as a datastore's directory. Missing
// parents are created 0711 (others may pass, not list). A symbolic link or
// a file in its place is an error; a tree of another owner is given to the
// runner's user.
func (r *Runner) ClaimDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	// A tree of another owner (made before datastores had accounts of
	// their own) is given to the runner's user whole.
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && r.switchUser && (int(sys.Uid) != r.UID || int(sys.Gid) != r.GID) {
		if err := chownTree(dir, r.UID, r.GID); err != nil {
			return err
		}
	}
	return nil
}

// Remove removes a file or an empty directory as the runner's user (see
// As); one that does not exist is no error.
func (r *Runner) Remove(path string) error {
	return r.as(func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}
