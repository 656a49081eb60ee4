package proc

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startLoop starts a shell daemon that runs until killed and returns it
// with its process ID.
func startLoop(t *testing.T, r *Runner, dir, name string) (*Daemon, int) {
	t.Helper()
	d := shellDaemon(r, dir, name, loop)
	d.WritePid = true
	stopAtEnd(t, d)
	pid, err := d.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d, pid
}

// TestRunningRemembersOnlyWhatStaysTrue: once Running has checked a
// process it answers from what it remembered, but never past a change:
// a killed process is not running at the next call, a pid file rewritten
// to name another process (one the daemon's rules refuse) is checked
// afresh, and another description of the same pid file applies its own
// rules.
func TestRunningRemembersOnlyWhatStaysTrue(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d, pid := startLoop(t, r, dir, "remembered")
	for range 3 {
		if got := d.Running(); got != pid {
			t.Fatalf("Running = %d, want %d", got, pid)
		}
	}

	// Another description of the same pid file with other rules.
	strict := *d
	strict.Name = "strict"
	strict.Recognise = func(int, []string) bool { return false }
	if got := strict.Running(); got != 0 {
		t.Errorf("Running of a description that recognises nothing = %d, want 0", got)
	}
	if got := d.Running(); got != pid {
		t.Errorf("Running after another description's check = %d, want %d", got, pid)
	}

	// The pid file rewritten to name the account's own process that is
	// not the daemon, then the daemon again.
	_, other := startLoop(t, r, dir, "unrelated")
	write := func(p int) {
		t.Helper()
		if _, err := r.WriteFile(d.PidFile, []byte(strconv.Itoa(p)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(other)
	if got := d.Running(); got != 0 {
		t.Errorf("Running with the pid file naming an unrecognised process = %d, want 0", got)
	}
	write(pid)
	if got := d.Running(); got != pid {
		t.Errorf("Running with the pid file naming the daemon again = %d, want %d", got, pid)
	}

	// Killed: gone at the first call after the kernel says so.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := d.Running(); got != 0 {
		t.Errorf("Running after the process was killed = %d, want 0", got)
	}

	// A removed pid file names nothing.
	d2, pid2 := startLoop(t, r, dir, "removed")
	if got := d2.Running(); got != pid2 {
		t.Fatalf("Running = %d, want %d", got, pid2)
	}
	if err := r.Remove(d2.PidFile); err != nil {
		t.Fatal(err)
	}
	if got := d2.Running(); got != 0 {
		t.Errorf("Running without a pid file = %d, want 0", got)
	}
}

// TestStopForgetsTheProcess: Stop drops what Running remembered (the
// pidfd is closed at once).
func TestStopForgetsTheProcess(t *testing.T) {
	t.Parallel()
	r, dir := daemonRunner(t)
	d, pid := startLoop(t, r, dir, "forgotten")
	if got := d.Running(); got != pid {
		t.Fatalf("Running = %d, want %d", got, pid)
	}
	verified.mu.Lock()
	_, remembered := verified.m[d.PidFile]
	verified.mu.Unlock()
	if !remembered {
		t.Fatal("a running, checked process was not remembered")
	}
	if stopped, err := d.Stop(context.Background()); stopped != pid || err != nil {
		t.Fatalf("Stop = %d, %v", stopped, err)
	}
	verified.mu.Lock()
	_, remembered = verified.m[d.PidFile]
	verified.mu.Unlock()
	if remembered {
		t.Error("Stop left the stopped process remembered")
	}
	if _, err := os.Stat(d.PidFile); err == nil && d.Running() != 0 {
		t.Error("Running after Stop names a process")
	}
}
