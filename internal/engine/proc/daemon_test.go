package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemonRunner is the account a test's daemons run as, with a directory
// it owns: a datastore's account when the test runs as root, else the
// test's own user.
func daemonRunner(t *testing.T) (*Runner, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		r, err := Default()
		if err != nil {
			t.Fatal(err)
		}
		return r, t.TempDir()
	}
	_, r, _ := account(t)
	dir := filepath.Join(privateDir(t), "cluster")
	if err := r.ClaimDir(dir); err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// loop runs until the shell is signalled (a shell that execs another
// program would lose the marker its command line is recognised by).
const loop = `while :; do sleep 0.05; done`

// shellDaemon is a daemon running script with /bin/sh, recognised by its
// marker argument.
func shellDaemon(r *Runner, dir, name, script string) *Daemon {
	marker := "proc-test-" + name
	return &Daemon{
		Name:    name,
		Runner:  r,
		Command: "/bin/sh",
		Args:    []string{"-c", script, marker},
		Dir:     dir,
		Log:     filepath.Join(dir, name+".log"),
		PidFile: filepath.Join(dir, name+".pid"),
		Recognise: func(_ int, argv []string) bool {
			return slices.Contains(argv, marker)
		},
		StopGrace: 200 * time.Millisecond,
	}
}

// stopAtEnd stops whatever a test's daemon left running.
func stopAtEnd(t *testing.T, d *Daemon) {
	t.Cleanup(func() {
		if pid := d.Find(); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// TestDaemonStartReadyStop: Start runs the process as the account, waits
// for Ready and writes the pid file; Running finds it; Stop ends it.
func TestDaemonStartReadyStop(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	flag := filepath.Join(dir, "ready")
	d := shellDaemon(r, dir, "good", `sleep 0.2; : > "$READY_FLAG"; `+loop)
	d.Env = []string{"READY_FLAG=" + flag}
	d.WritePid = true
	d.Ready = func(context.Context, int) error {
		if _, err := os.Stat(flag); err != nil {
			return err
		}
		return nil
	}
	d.ReadyTimeout = 10 * time.Second
	stopAtEnd(t, d)
	pid, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(flag); err != nil {
		t.Fatalf("Start returned before the process was ready: %v", err)
	}
	if processUID(pid) != r.UID {
		t.Errorf("daemon runs as uid %d, want the account's %d", processUID(pid), r.UID)
	}
	if got := d.Running(); got != pid {
		t.Fatalf("Running = %d, want %d", got, pid)
	}
	stopped, err := d.Stop(context.Background())
	if err != nil || stopped != pid {
		t.Fatalf("Stop = %d, %v; want %d, nil", stopped, err, pid)
	}
	if Alive(pid) || d.Running() != 0 {
		t.Fatalf("after Stop: alive %v, Running %d", Alive(pid), d.Running())
	}
	if stopped, err := d.Stop(context.Background()); stopped != 0 || err != nil {
		t.Fatalf("Stop of a stopped daemon = %d, %v; want 0, nil", stopped, err)
	}
}

// TestDaemonExitBeforeReady: a process that dies during its start fails
// Start at once (not after ReadyTimeout), with the end of its log.
func TestDaemonExitBeforeReady(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d := shellDaemon(r, dir, "bad", `echo "starting"; echo "FATAL: no such setting: wrk_mem" >&2; exit 1`)
	d.Ready = func(context.Context, int) error { return errors.New("not yet") }
	d.ReadyTimeout = time.Minute
	stopAtEnd(t, d)
	start := time.Now()
	_, err := d.Start(context.Background())
	if err == nil {
		t.Fatal("Start of a process that exits: want an error")
	}
	if !strings.Contains(err.Error(), "FATAL: no such setting: wrk_mem") || !strings.Contains(err.Error(), "exited") {
		t.Errorf("error %q: want it to say the process exited and quote its log", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Start took %s: want it to fail as soon as the process exits", time.Since(start))
	}
}

// TestDaemonNotReadyInTime: a process that runs but never gets ready
// fails Start after ReadyTimeout; with StopUnready it is stopped, without
// it it is left to be adopted.
func TestDaemonNotReadyInTime(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	for _, stop := range []bool{true, false} {
		d := shellDaemon(r, dir, "slow-"+strconv.FormatBool(stop), loop)
		d.WritePid = true
		d.Ready = func(context.Context, int) error { return errors.New("still loading") }
		d.ReadyTimeout = 300 * time.Millisecond
		d.StopUnready = stop
		stopAtEnd(t, d)
		_, err := d.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "still loading") {
			t.Fatalf("StopUnready %v: Start = %v; want the last error of Ready", stop, err)
		}
		pid := d.Find()
		if stop && pid != 0 {
			t.Errorf("StopUnready: process %d still runs", pid)
		}
		if !stop {
			// Without StopUnready the pid file is not written: find it
			// by its command line.
			d.Scan = true
			if d.Find() == 0 {
				t.Errorf("without StopUnready: the process was stopped")
			}
		}
	}
}

// TestDaemonPermanentError: a Ready probe's permanent error ends the wait
// at once.
func TestDaemonPermanentError(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d := shellDaemon(r, dir, "auth", loop)
	calls := 0
	d.Ready = func(context.Context, int) error { calls++; return Permanent(errors.New("wrong password")) }
	d.ReadyTimeout = time.Minute
	d.StopUnready = true
	stopAtEnd(t, d)
	_, err := d.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "wrong password") || calls != 1 {
		t.Fatalf("Start = %v after %d probes; want the permanent error after one", err, calls)
	}
}

// TestDaemonStopEscalates: a process that ignores SIGTERM is killed once
// StopGrace has passed.
func TestDaemonStopEscalates(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	// The shell, and the sleep it runs, ignore SIGTERM.
	d := shellDaemon(r, dir, "stubborn", `trap "" TERM; `+loop)
	d.WritePid = true
	d.StopGrace = 500 * time.Millisecond
	stopAtEnd(t, d)
	pid, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the shell set the trap and exec
	start := time.Now()
	stopped, err := d.Stop(context.Background())
	if err != nil || stopped != pid {
		t.Fatalf("Stop = %d, %v; want %d, nil", stopped, err, pid)
	}
	if took := time.Since(start); took < d.StopGrace {
		t.Errorf("Stop took %s: the process ignores SIGTERM, so it should have been killed after %s", took, d.StopGrace)
	}
	if Alive(pid) {
		t.Fatal("the process still runs after Stop")
	}
}

// TestDaemonShutdownHook: Shutdown ends the process its own way; SIGTERM
// is only for what it leaves running.
func TestDaemonShutdownHook(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d := shellDaemon(r, dir, "polite", `trap "" TERM; `+loop)
	d.WritePid = true
	d.StopGrace = time.Minute
	asked := 0
	d.Shutdown = func(_ context.Context, pid int) {
		asked++
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for Alive(pid) {
			time.Sleep(Poll)
		}
	}
	stopAtEnd(t, d)
	if _, err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := d.Stop(context.Background()); err != nil || asked != 1 {
		t.Fatalf("Stop = %v, Shutdown called %d times; want nil, once", err, asked)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Stop waited %s although Shutdown ended the process", time.Since(start))
	}
}

// TestDaemonLaunch: a server that detaches itself is found by the pid file
// it writes.
func TestDaemonLaunch(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d := shellDaemon(r, dir, "detached", "")
	d.Command, d.Args = "", nil
	d.Launch = func(ctx context.Context) error {
		// Like a server in daemon mode, the launcher returns once the
		// server runs in a session of its own.
		script := `setsid /bin/sh -c 'echo $$ > "$0"; while :; do sleep 0.05; done' "$0" proc-test-detached </dev/null >/dev/null 2>&1 &
			while [ ! -s "$0" ]; do sleep 0.01; done`
		_, err := r.Run(ctx, "/bin/sh", "-c", script, d.PidFile)
		return err
	}
	stopAtEnd(t, d)
	pid, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Running() != pid || !Alive(pid) {
		t.Fatalf("Running = %d, want the detached process %d", d.Running(), pid)
	}
	if _, err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonForeignPid: a pid file in the account's directory that names
// another account's process (or a process that is not the daemon) is not
// the daemon's: Running and Find ignore it and Stop signals nothing.
func TestDaemonForeignPid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("datastore OS accounts need root")
	}
	t.Parallel()
	r, dir := daemonRunner(t)
	other, otherDir := daemonRunner(t)
	// The victim: a process of another account that looks exactly like
	// the daemon.
	victim := shellDaemon(other, otherDir, "victim", loop)
	victim.WritePid = true
	stopAtEnd(t, victim)
	vpid, err := victim.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := shellDaemon(r, dir, "victim", loop)
	d.Scan = true
	for _, pid := range []int{vpid, os.Getpid()} {
		// The account writes the pid file: it is the account's to write.
		if _, err := r.WriteFile(d.PidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := d.Running(); got != 0 {
			t.Errorf("Running with a pid file naming process %d of another user = %d, want 0", pid, got)
		}
		if got := d.Find(); got != 0 {
			t.Errorf("Find = %d, want 0 (another account's processes are never the daemon)", got)
		}
		if stopped, err := d.Stop(context.Background()); stopped != 0 || err != nil {
			t.Errorf("Stop = %d, %v; want nothing stopped", stopped, err)
		}
	}
	if !Alive(vpid) {
		t.Fatal("the other account's process was stopped")
	}
	// The account's own process that is not the daemon does not count
	// either.
	own := shellDaemon(r, dir, "unrelated", loop)
	own.WritePid = true
	stopAtEnd(t, own)
	opid, err := own.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteFile(d.PidFile, []byte(strconv.Itoa(opid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := d.Running(); got != 0 {
		t.Errorf("Running with a pid file naming an unrecognised process = %d, want 0", got)
	}
}

func TestLogTail(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	path := filepath.Join(dir, "x.log")
	var b strings.Builder
	for i := range 3000 {
		b.WriteString("line " + strconv.Itoa(i) + "\n\n")
	}
	if _, err := r.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := r.LogTail(path, 3); got != "line 2997 | line 2998 | line 2999" {
		t.Errorf("LogTail = %q", got)
	}
	if got := r.LogTail(filepath.Join(dir, "missing.log"), 3); got != "" {
		t.Errorf("LogTail of a missing file = %q, want empty", got)
	}
}

// TestBackoff checks a poll's waits: short at first, doubling, never
// longer than Poll.
func TestBackoff(t *testing.T) {
	t.Parallel()
	var b Backoff
	for i := range 10 {
		if got, want := b.Next(), min(time.Millisecond<<i, Poll); got != want {
			t.Fatalf("wait %d: got %s, want %s", i, got, want)
		}
	}
}
