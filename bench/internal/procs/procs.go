// Package procs starts the benchmark's helper processes (dbaasd, the load
// generator, the bare server, the mock) in process groups of their own and
// stops every one of them on the way out, and sweeps engine servers left
// under a directory (which run in sessions of their own, outside any group
// the harness started).
package procs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Group tracks started processes so that Close stops all of them.
type Group struct {
	mu     sync.Mutex
	procs  map[int]*Proc
	closed bool
}

// NewGroup returns an empty group.
func NewGroup() *Group { return &Group{procs: map[int]*Proc{}} }

// Proc is a started process.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
	g    *Group
}

// Spec describes a process to start.
type Spec struct {
	Name string   // for messages
	Path string   // executable
	Args []string // arguments
	Dir  string   // working directory ("" = current)
	Env  []string // full environment (nil = the harness's, minus DBAAS_*)
	// Log receives stdout and stderr ("" = discarded).
	Log string
	// Stdout, when set, receives stdout instead of Log.
	Stdout *os.File
}

// Start starts a process in a new process group.
func (g *Group) Start(s Spec) (*Proc, error) {
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	if cmd.Env == nil {
		cmd.Env = CleanEnv()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.Log != "" {
		f, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("start %s: open log: %w", s.Name, err)
		}
		defer func() { _ = f.Close() }()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if s.Stdout != nil {
		cmd.Stdout = s.Stdout
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("start %s: %w", s.Name, ErrClosed)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	p := &Proc{Name: s.Name, Cmd: cmd, done: make(chan struct{}), g: g}
	g.procs[cmd.Process.Pid] = p
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// CleanEnv is the harness's environment without DBAAS_* variables, so that
// a developer's settings do not change what is measured.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBAAS_") {
			out = append(out, kv)
		}
	}
	return out
}

// PID is the process ID.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end (or ctx) and returns its error.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then kills
// the group. It is safe to call more than once.
func (p *Proc) Stop(grace time.Duration) {
	defer func() {
		p.g.mu.Lock()
		delete(p.g.procs, p.PID())
		p.g.mu.Unlock()
	}()
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	<-p.done
}

// Close stops every process still running; the group starts no more.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	list := make([]*Proc, 0, len(g.procs))
	for _, p := range g.procs {
		list = append(list, p)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop(10 * time.Second)
		}()
	}
	wg.Wait()
}

// Errors of the group.
var (
	// ErrExited is returned when a process ended while it was awaited.
	ErrExited = errors.New("process exited")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("process group closed")
)
