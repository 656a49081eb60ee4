package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Poll is how often the supervisor looks at a process it waits for: to
// write its pid file, to answer, to end.
const Poll = 20 * time.Millisecond

// Backoff paces a poll: its first waits are short, since what is awaited
// (a pid file, a server's first answer) often comes within milliseconds,
// and grow to Poll. The zero value is ready to use.
type Backoff struct{ d time.Duration }

// Next returns how long to wait before the next look: 1 ms, then twice
// the previous wait, at most Poll.
func (b *Backoff) Next() time.Duration {
	b.d = min(max(2*b.d, time.Millisecond), Poll)
	return b.d
}

// pidWait bounds how long a server that detaches itself (Launch) may take
// to write its pid file.
const pidWait = 10 * time.Second

// Daemon describes one long-running server process of a datastore (a
// database server, a pooler, a sentinel, a forwarder, a broker) so that
// every driver starts, recognises, waits for and stops its processes the
// same way. A Daemon is a value built for each use; it holds no state.
//
// The process runs as Runner (the datastore's OS account), in a session of
// its own, and outlives dbaasd. A restarted dbaasd finds it by its pid
// file: a pid file is in a directory the account owns, so the process it
// names counts only when it runs as the file's owner and as Runner's
// user, is alive, and is recognised by its command line (Running).
type Daemon struct {
	// Name names the process in errors and logs ("pgbouncer", "node n1:
	// mariadbd").
	Name string
	// Runner is the OS account the process runs as; only its processes
	// count as the daemon. Running needs none (the pid file's owner is
	// then the only account); starting and stopping do.
	Runner *Runner

	// Command and Args are the program Start runs (with StartDaemon) in
	// Dir with Env added, its output appended to Log.
	Command string
	Args    []string
	Dir     string
	Env     []string
	// Launch, instead of Command, starts a server that detaches itself
	// (pg_ctl start, redis-server with daemonize yes); Start then reads
	// its process ID from PidFile, which it must set.
	Launch func(ctx context.Context) error

	// Log is the file the process writes to: errors quote its end.
	Log string
	// Tail, when set, is what errors quote of the process's logs instead
	// of the end of Log (a server with several log files, or one whose
	// errors are worth picking out).
	Tail func() string

	// PidFile names the running process. Start removes a stale one.
	PidFile string
	// WritePid makes Start write PidFile itself, once the process is
	// ready, when the process did not (yet) write it.
	WritePid bool
	// Recognise tells the daemon by its command line, so that a pid file
	// whose number the kernel has given to another program is not taken
	// for it. Nil accepts any process.
	Recognise func(pid int, argv []string) bool
	// Scan makes Find look, when the pid file names no process, through
	// the processes of Runner's user for one Recognise accepts: a server
	// whose pid file was lost must be adopted or stopped, never started
	// twice.
	Scan bool

	// Ready reports whether the process pid serves (nil when it does).
	// An error made with Permanent ends the wait at once. Nil: the
	// process is ready once it runs.
	Ready func(ctx context.Context, pid int) error
	// ReadyTimeout bounds the wait for Ready; zero leaves it to ctx.
	ReadyTimeout time.Duration
	// StopUnready makes Start stop a process that is not ready in time;
	// otherwise it keeps running, to be adopted by the next attempt (a
	// server loading its data, a joiner receiving a state transfer).
	StopUnready bool

	// Shutdown, when set, asks the process to end in its engine's own way
	// (pg_ctl stop); what still runs afterwards is terminated.
	Shutdown func(ctx context.Context, pid int)
	// StopGrace is how long the process has between SIGTERM and SIGKILL
	// (default 10 seconds).
	StopGrace time.Duration
}

// permanent marks an error of a Ready probe that waiting will not cure.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks an error of a Ready probe that waiting will not cure
// (wrong credentials): Await returns it at once.
func Permanent(err error) error { return permanent{err} }

// Running returns the process ID in PidFile when that process is alive,
// runs as the pid file's owner (OwnedPid) and as Runner's user, and is
// recognised; else 0.
// A process that passed these checks is answered for from a pidfd until
// its pid file changes or it exits (see verified.go).
func (d *Daemon) Running() int {
	if d.PidFile == "" {
		return 0
	}
	file, ok := pidFileID(d.PidFile)
	if !ok {
		forgetVerified(d.PidFile)
		return 0
	}
	now := time.Now()
	if pid, ok := d.cachedRunning(file, now); ok {
		return pid
	}
	return d.checkRunning(file, now)
}

// Find is Running and, with Scan, a process of Runner's user that
// Recognise accepts when the pid file names none.
func (d *Daemon) Find() int {
	if pid := d.Running(); pid != 0 || !d.Scan || d.Runner == nil {
		return pid
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if d.recognised(pid) && d.Runner.OwnsProcess(pid) && Alive(pid) {
			return pid
		}
	}
	return 0
}

// ours reports whether a live process is the daemon: Runner's and
// recognised.
func (d *Daemon) ours(pid int) bool {
	return (d.Runner == nil || d.Runner.OwnsProcess(pid)) && d.recognised(pid)
}

func (d *Daemon) recognised(pid int) bool {
	if d.Recognise == nil {
		return true
	}
	argv := Cmdline(pid)
	return len(argv) > 0 && d.Recognise(pid, argv)
}

// Start starts the process, which must not be running (see Find), and
// waits until it is ready. A process that exits first fails the start at
// once, with the end of its log in the error.
func (d *Daemon) Start(ctx context.Context) (int, error) {
	if d.PidFile != "" {
		// A previous process that is still ending holds its port, files
		// and locks until its last thread is gone.
		if old := ReadPidFile(d.PidFile); Exiting(old) {
			awaitGone(ctx, old, d.grace())
		}
		if err := d.Runner.Remove(d.PidFile); err != nil {
			return 0, fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	var pid int
	if d.Launch != nil {
		if err := d.Launch(ctx); err != nil {
			return 0, err
		}
		var err error
		if pid, err = d.waitPid(ctx); err != nil {
			return 0, err
		}
	} else {
		var err error
		if pid, err = d.Runner.StartDaemon(d.Command, d.Args, d.Dir, d.Log, d.Env...); err != nil {
			return 0, fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	if err := d.Await(ctx, pid); err != nil {
		if d.StopUnready && Alive(pid) {
			_ = d.StopProcess(context.WithoutCancel(ctx), pid)
		}
		return 0, err
	}
	if d.WritePid && ReadPidFile(d.PidFile) != pid {
		if _, err := d.Runner.WriteFile(d.PidFile, fmt.Appendf(nil, "%d\n", pid), 0o644); err != nil {
			return 0, fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return pid, nil
}

// waitPid waits until a server that detached itself names itself in its
// pid file.
func (d *Daemon) waitPid(ctx context.Context) (int, error) {
	deadline := time.Now().Add(pidWait)
	var b Backoff
	for {
		if pid := d.Running(); pid != 0 {
			return pid, nil
		}
		if pid := ReadPidFile(d.PidFile); pid > 0 && !Alive(pid) {
			return 0, fmt.Errorf("%s exited: %s", d.Name, d.tail())
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not write %s within %s: %s", d.Name, d.PidFile, pidWait, d.tail())
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for %s: %w", d.Name, ctx.Err())
		case <-time.After(b.Next()):
		}
	}
}

// Await waits until the running process pid is ready (Ready), within
// ReadyTimeout. It fails at once when the process exits, with the end of
// its log in the error.
func (d *Daemon) Await(ctx context.Context, pid int) error {
	if d.Ready == nil {
		if !Alive(pid) {
			return fmt.Errorf("%s exited: %s", d.Name, d.tail())
		}
		return nil
	}
	if d.ReadyTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.ReadyTimeout)
		defer cancel()
	}
	var b Backoff
	for {
		if !Alive(pid) {
			return fmt.Errorf("%s exited: %s", d.Name, d.tail())
		}
		err := d.Ready(ctx, pid)
		if err == nil {
			return nil
		}
		if errors.As(err, new(permanent)) {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last error: %v): %s", d.Name, ctx.Err(), err, d.tail())
		case <-time.After(b.Next()):
		}
	}
}

// Stop stops the daemon if it runs (Find) and returns the process ID it
// stopped, 0 when none ran.
func (d *Daemon) Stop(ctx context.Context) (int, error) {
	pid := d.Find()
	if pid == 0 {
		return 0, nil
	}
	if d.PidFile != "" {
		defer forgetVerified(d.PidFile)
	}
	return pid, d.StopProcess(ctx, pid)
}

// StopProcess stops the daemon's process pid: Shutdown first when set,
// then, if it still runs and is Runner's, SIGTERM and after StopGrace
// SIGKILL. It returns once the process is gone, or when ctx ends (the
// escalation goes on).
func (d *Daemon) StopProcess(ctx context.Context, pid int) error {
	if d.Shutdown != nil && Alive(pid) {
		d.Shutdown(ctx, pid)
	}
	if Alive(pid) && (d.Runner == nil || d.Runner.OwnsProcess(pid)) {
		grace := d.grace()
		done := make(chan struct{})
		go func() { Terminate(pid, grace); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("stop %s (pid %d): %w", d.Name, pid, ctx.Err())
		}
	}
	if Alive(pid) {
		return fmt.Errorf("%s (pid %d) did not stop", d.Name, pid)
	}
	return nil
}

// grace is StopGrace or its default.
func (d *Daemon) grace() time.Duration {
	if d.StopGrace <= 0 {
		return 10 * time.Second
	}
	return d.StopGrace
}

// tail is what errors quote of the process's logs.
func (d *Daemon) tail() string {
	var s string
	switch {
	case d.Tail != nil:
		s = d.Tail()
	case d.Log != "" && d.Runner != nil:
		s = d.Runner.LogTail(d.Log, logTailLines)
	}
	if s == "" {
		return "(nothing logged)"
	}
	return s
}

// logTailLines is how many lines of a log errors quote.
const logTailLines = 10

// logTailBytes is how much of the end of a log LogLines reads.
const logTailBytes = 8192

// LogLines returns the last n non-empty lines of a log file, read as the
// runner's user (a log replaced by a link to a file the account may not
// read yields nothing), from at most its last 8 KiB.
func (r *Runner) LogLines(path string, n int) []string {
	b, err := r.ReadFileTail(path, logTailBytes)
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// LogTail is LogLines joined with " | ", for an error message.
func (r *Runner) LogTail(path string, n int) string {
	return strings.Join(r.LogLines(path, n), " | ")
}
