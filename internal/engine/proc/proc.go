// Package proc runs engine processes on the local machine for the local
// engine drivers: it finds engine binaries, runs commands as the engines' OS
// user, supervises servers as daemons that outlive dbaasd (Daemon), and
// checks processes and ports. It knows nothing of any particular engine.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// SystemUser is the unprivileged OS user engines run as when dbaasd runs as root.
const SystemUser = "dbaasd"

// Runner runs commands as the OS user that owns engine processes and files.
type Runner struct {
	// User is the OS user name engines run as.
	User string
	// UID and GID of that user.
	UID, GID int
	// switchUser is true when commands must drop to UID/GID (dbaasd is root).
	switchUser bool
	// confined is true for a datastore's own account (ForCluster): file
	// operations in its trees run with its file-system identity (As).
	confined bool
	// tools records the process groups of running tools (TrackTools);
	// the runners of datastore accounts share their parent's.
	tools *toolRecords
}

// toolRecords is where a runner and the runners derived from it record
// the tools they run.
type toolRecords struct{ dir atomic.Pointer[string] }

func (r *Runner) toolRecords() *toolRecords { return r.tools }

var (
	defaultOnce   sync.Once
	defaultRunner *Runner
	defaultErr    error
)

// Default returns the runner for this process: when dbaasd runs as root the
// engines run as the system user SystemUser (created if missing); otherwise
// they run as the current user.
func Default() (*Runner, error) {
	defaultOnce.Do(func() { defaultRunner, defaultErr = newDefault() })
	return defaultRunner, defaultErr
}

func newDefault() (*Runner, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("current user: %w", err)
		}
		return &Runner{User: u.Username, UID: os.Getuid(), GID: os.Getgid(), tools: &toolRecords{}}, nil
	}
	u, err := user.Lookup(SystemUser)
	if err != nil {
		out, cerr := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SystemUser).CombinedOutput()
		if cerr != nil && !strings.Contains(string(out), "already exists") {
			return nil, fmt.Errorf("create system user %s: %w: %s", SystemUser, cerr, out)
		}
		if u, err = user.Lookup(SystemUser); err != nil {
			return nil, fmt.Errorf("look up system user %s: %w", SystemUser, err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &Runner{User: u.Username, UID: uid, GID: gid, switchUser: true, tools: &toolRecords{}}, nil
}

// Command prepares a short-lived command that runs as the engine user. It
// dies with dbaasd (the kernel sends it SIGKILL when dbaasd's thread that
// started it ends), so a crash of dbaasd leaves no tool (pg_basebackup,
// mariadb-backup, …) running with resources it holds. Engine servers are
// started with StartDaemon (or daemonize themselves) and live on.
func (r *Runner) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	r.prepare(cmd)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd
}

func (r *Runner) prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if r.switchUser {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(r.UID), Gid: uint32(r.GID)}
	}
	// A minimal, predictable environment: engines must not inherit dbaasd's
	// secrets from its environment.
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC"}
		if r.switchUser {
			cmd.Env = append(cmd.Env, "HOME=/tmp", "USER="+r.User)
		} else if h, err := os.UserHomeDir(); err == nil {
			cmd.Env = append(cmd.Env, "HOME="+h, "USER="+r.User)
		}
	}
}

// Run runs a command as the engine user and returns its combined output; on
// failure the error carries the output so people can act on it.
func (r *Runner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := r.Command(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := r.runTracked(cmd)
	if err != nil {
		return buf.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(tail(buf.String(), 2000)))
	}
	return buf.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// StartDaemon starts a long-running server as the engine user in its own
// session, so that it outlives dbaasd and is not hit by signals sent to
// dbaasd's process group. Output goes to logPath (appended). It returns the
// process ID; the process is reaped in the background while dbaasd runs.
func (r *Runner) StartDaemon(name string, args []string, dir, logPath string, env ...string) (int, error) {
	var logf *os.File
	err := r.as(func() error {
		var err error
		logf, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o640)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("open log %s: %w", logPath, err)
	}
	defer func() { _ = logf.Close() }() // the daemon writes through its own descriptor
	if err := r.Chown(logPath); err != nil {
		return 0, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	r.prepare(cmd)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr.Setsid = true
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }()
	return pid, nil
}

// MkdirAll creates a directory owned by the engine user with the given
// mode. Missing parents are created 0755 (so the engine user can reach
// the directory whoever creates them).
//
// For a datastore's account (ForCluster) the directories are created as
// that account (see As), so missing parents must be inside a tree it
// owns (ClaimDir) and are created 0700.
func (r *Runner) MkdirAll(path string, mode os.FileMode) error {
	parentMode := os.FileMode(0o755)
	if r.confined {
		parentMode = 0o700
	}
	return r.as(func() error {
		if err := os.MkdirAll(filepath.Dir(path), parentMode); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if err := os.Mkdir(path, mode); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		if st, err := os.Lstat(path); err != nil || !st.IsDir() {
			return fmt.Errorf("create %s: not a directory", path)
		}
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return r.Chown(path)
	})
}

// as is As for a datastore's account, and runs f as dbaasd otherwise.
func (r *Runner) as(f func() error) error {
	if !r.confined {
		return f()
	}
	return r.As(f)
}

// Chown gives a path to the engine user (a no-op when not switching users,
// and for a datastore's account, which creates its files itself).
func (r *Runner) Chown(path string) error {
	if !r.switchUser || r.confined {
		return nil
	}
	if err := os.Lchown(path, r.UID, r.GID); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// ChownTree gives a whole tree to the engine user.
func (r *Runner) ChownTree(root string) error {
	if !r.switchUser {
		return nil
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return r.Chown(p)
	})
}

// WriteFile writes a file owned by the engine user, atomically (write to a
// temporary file, then rename), and reports whether the content changed.
// A file, link or anything else at the temporary path is replaced, never
// followed.
func (r *Runner) WriteFile(path string, data []byte, mode os.FileMode) (bool, error) {
	changed := false
	err := r.as(func() error {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			return nil
		}
		tmp := path + ".tmp"
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, mode)
		if err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close() // the write's error is the one to report
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := f.Chmod(mode); err != nil {
			_ = f.Close()
			return fmt.Errorf("chmod %s: %w", tmp, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := r.Chown(tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename %s: %w", tmp, err)
		}
		changed = true
		return nil
	})
	return changed, err
}

// CheckAccess reports a clear error when the engine user cannot reach dir
// (for example a data dir under /root while engines run as SystemUser).
func (r *Runner) CheckAccess(ctx context.Context, dir string) error {
	if !r.switchUser {
		return nil
	}
	if _, err := r.Run(ctx, "/usr/bin/test", "-x", dir); err != nil {
		return fmt.Errorf("engines run as OS user %q, which cannot enter %s: choose a --data-dir it can reach (e.g. /var/lib/dbaasd) or grant it access: %w", r.User, dir, err)
	}
	return nil
}

// Alive reports whether a process with this ID runs (and is not a zombie).
func Alive(pid int) bool {
	alive, _ := state(pid)
	return alive
}

// pfExiting is the kernel's PF_EXITING task flag: the process is ending.
const pfExiting = 0x4

// Exiting reports whether process pid has begun to end (it was killed or
// returned) but still holds what it held: its threads, open files,
// listening sockets and locks go only once the last thread is gone, after
// which it is no longer Alive.
func Exiting(pid int) bool {
	_, exiting := state(pid)
	return exiting
}

// state reads /proc/<pid>/stat once: whether the process is alive (not a
// zombie, not gone) and whether it is ending (PF_EXITING).
func state(pid int) (alive, exiting bool) {
	if pid <= 0 {
		return false, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, false
	}
	st, err := parseStat(b)
	if err != nil {
		return true, false // it has a stat file, so it is there
	}
	return st.Alive(), st.Flags&pfExiting != 0
}

// ReadPidFile returns the process ID in the first line of a pid file, or 0.
func ReadPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// Terminate sends SIGTERM, waits up to grace for the process to end, then
// sends SIGKILL. It returns once the process is gone.
func Terminate(pid int, grace time.Duration) {
	if !Alive(pid) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !Alive(pid) {
			return
		}
		time.Sleep(Poll)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 50 && Alive(pid); i++ {
		time.Sleep(Poll)
	}
}

// PortFree reports whether nothing listens on host:port right now.
func PortFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// FindBinary finds an executable by name: first in PATH and the usual sbin
// directories, then in the directories matched by the globs (newest version
// first, by natural sort of the matched paths).
func FindBinary(name string, globs ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	sbins := []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}
	for _, d := range sbins {
		p := filepath.Join(d, name)
		if isExec(p) {
			return p, nil
		}
	}
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		sort.Slice(matches, func(i, j int) bool { return naturalLess(matches[j], matches[i]) })
		for _, dir := range matches {
			p := filepath.Join(dir, name)
			if isExec(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found in PATH, %s: is the engine installed?", name, strings.Join(append(sbins, globs...), ", "))
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// naturalLess compares strings, treating runs of digits as numbers, so that
// "/usr/lib/postgresql/9" < "/usr/lib/postgresql/15".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, _ := strconv.Atoi(da)
			nb, _ := strconv.Atoi(db)
			if na != nb {
				return na < nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// Cmdline returns the command line of a running process (argv), or nil when
// the process is gone or unreadable. Drivers use it to check that a PID read
// from a pid file still belongs to the engine and was not reused.
func Cmdline(pid int) []string {
	if pid <= 0 {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// DirSize returns the total size in bytes of the regular files under root.
// Files that vanish during the walk (a running server removes and creates
// files all the time) are skipped; a missing root is an error.
func DirSize(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p != root {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", root, err)
	}
	return total, nil
}

// DiskUsage is the space a directory tree takes on disk, as du counts it
// (allocated blocks; a file's size where the blocks are unknown). It is
// best effort: what cannot be read (a file a running server just removed,
// a missing root) counts as nothing. DirSize is the apparent size instead.
func DiskUsage(root string) int64 {
	var total int64
	_ = filepath.WalkDir(root, func(_ string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}

// CopyTree copies the directory tree src to dst (which must not exist yet),
// keeping file modes and symbolic links, and gives the copy to the engine
// user. Files are copied in parallel with the kernel's copy_file_range (a
// clone on file systems that support it), which makes copying a prepared
// data directory template much faster than running the engine's own
// initialisation again. It is meant for quiescent trees (templates, stopped
// servers), not for trees a running server writes to.
func (r *Runner) CopyTree(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy %s to %s: destination exists", src, dst)
	}
	// The tree is read as dbaasd (templates are dbaasd's) and written as
	// the runner's user (see As): directories and links first, in one
	// switch of identity, then files in batches, each batch's sources
	// opened as dbaasd and its copies made in one switch, so that the
	// thousand files of a template cost one switch per batch, not each.
	type link struct{ to, target string }
	type dir struct {
		to   string
		mode os.FileMode
	}
	var dirs []dir
	var links []link
	var files []copyJob
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, dir{to, info.Mode().Perm()})
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links = append(links, link{to, target})
		case d.Type().IsRegular():
			files = append(files, copyJob{p, to, info.Mode().Perm()})
		default:
			return fmt.Errorf("%s: unsupported file type %s", p, d.Type())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	err = r.as(func() error {
		for _, d := range dirs {
			if err := os.Mkdir(d.to, d.mode); err != nil {
				return err
			}
			if err := os.Chmod(d.to, d.mode); err != nil {
				return err
			}
		}
		for _, l := range links {
			if err := os.Symlink(l.target, l.to); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, d := range dirs {
			if err = r.Chown(d.to); err != nil {
				break
			}
		}
	}
	if err == nil {
		for _, l := range links {
			if err = r.Chown(l.to); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	const batch = 64
	jobs := make(chan []copyJob)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < copyWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				if err := r.copyFiles(b); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < len(files); i += batch {
		jobs <- files[i:min(i+batch, len(files))]
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	default:
		return nil
	}
}

// copyWorkers is how many batches CopyTree copies at once.
const copyWorkers = 4

// copyJob is one file of CopyTree.
type copyJob struct {
	from, to string
	mode     os.FileMode
}

// copyFiles opens the sources as dbaasd (templates are dbaasd's) and
// creates the copies as the runner's user (see As), in one switch of
// identity.
func (r *Runner) copyFiles(jobs []copyJob) error {
	srcs := make([]*os.File, len(jobs))
	defer func() {
		for _, f := range srcs {
			if f != nil {
				_ = f.Close()
			}
		}
	}()
	for i, j := range jobs {
		f, err := os.Open(j.from)
		if err != nil {
			return err
		}
		srcs[i] = f
	}
	err := r.as(func() error {
		for i, j := range jobs {
			out, err := os.OpenFile(j.to, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, j.mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, srcs[i]); err != nil {
				_ = out.Close()
				return err
			}
			if err := out.Chmod(j.mode); err != nil {
				_ = out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := r.Chown(j.to); err != nil {
			return err
		}
	}
	return nil
}
