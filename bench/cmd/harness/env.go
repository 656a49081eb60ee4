package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/loadgen"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// env is what every section of the harness shares: the temporary root all
// files go under, the processes it started, and the settings of the run.
type env struct {
	cfg    config
	root   string // temporary directory for everything this run creates
	group  *procs.Group
	runner *proc.Runner
	bin    string // absolute path of bin/dbaasd
	load   string // load generator binary
	bare   string // bare server binary
	start  time.Time
	commit string // of the checkout, for profile summaries

	mu       sync.Mutex
	cleanups []func()
	closed   bool
}

// newEnv creates the temporary root and builds the helper commands.
func newEnv(ctx context.Context, cfg config) (*env, error) {
	bin, err := filepath.Abs(cfg.dbaasdBin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("dbaasd binary %s: %w (run make build)", bin, err)
	}
	runner, err := proc.Default()
	if err != nil {
		return nil, err
	}
	// A short root: Unix socket paths under cluster directories must stay
	// within 107 characters (dbaasd refuses Redis clusters otherwise).
	root, err := os.MkdirTemp("/tmp", "dbb-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	// The engines' OS user must reach the data directories under root.
	if err := os.Chmod(root, 0o755); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	e := &env{cfg: cfg, root: root, group: procs.NewGroup(), runner: runner, bin: bin, start: time.Now()}
	tools := filepath.Join(root, "tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		e.Close()
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tools+"/", "./bench/cmd/load", "./bench/cmd/bare")
	cmd.Env = procs.CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		e.Close()
		return nil, fmt.Errorf("build load generator and bare server: %w: %s", err, out)
	}
	e.load, e.bare = filepath.Join(tools, "load"), filepath.Join(tools, "bare")
	return e, nil
}

// logf prints progress to stderr.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

// dir creates (if needed) and returns a directory under the root.
func (e *env) dir(parts ...string) (string, error) {
	d := filepath.Join(append([]string{e.root}, parts...)...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", d, err)
	}
	return d, nil
}

// onClose registers a cleanup; cleanups run last-in first-out in Close.
func (e *env) onClose(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

// Close runs the cleanups, stops every process the harness started,
// terminates engine servers left under the root and removes the root
// (unless -keep). It is safe to call more than once.
func (e *env) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	cl := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(cl) - 1; i >= 0; i-- {
		cl[i]()
	}
	e.group.Close()
	if n := procs.Sweep(e.root, 30*time.Second); n > 0 {
		e.logf("cleanup: terminated %d leftover process(es) under %s", n, e.root)
	}
	if e.cfg.keep {
		e.logf("kept %s", e.root)
		return
	}
	if err := os.RemoveAll(e.root); err != nil {
		e.logf("cleanup: remove %s: %v", e.root, err)
	}
}

// hurry is Close without the graceful steps (deleting clusters through
// the API): it kills what runs under the root and removes it.
func (e *env) hurry() {
	e.group.Close()
	procs.Sweep(e.root, 2*time.Second)
	if !e.cfg.keep {
		_ = os.RemoveAll(e.root)
	}
}

// startDbaasd runs bin/dbaasd on a data directory under the root. The
// engines' templates are shared by every dbaasd of the run (a symbolic
// link to one directory), so that only the first start prepares them.
func (e *env) startDbaasd(ctx context.Context, name string, o dbaasd.Options) (*dbaasd.Server, error) {
	if o.DataDir == "" {
		d, err := e.dir(name)
		if err != nil {
			return nil, err
		}
		o.DataDir = d
	}
	shared, err := e.dir("templates")
	if err != nil {
		return nil, err
	}
	link := filepath.Join(o.DataDir, "templates")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		if err := os.Symlink(shared, link); err != nil {
			return nil, fmt.Errorf("share templates: %w", err)
		}
	}
	o.Bin = e.bin
	if o.Log == "" {
		o.Log = filepath.Join(e.root, name+".log")
	}
	s, err := dbaasd.Start(ctx, e.group, o)
	if err != nil {
		return nil, fmt.Errorf("start dbaasd (%s): %w", name, err)
	}
	return s, nil
}

// loadSpec is one run of the load generator.
type loadSpec struct {
	url    string
	method string
	header []string
	body   string
	conns  int
	rate   float64
	expect int
}

// runLoad runs the load generator as a process of its own and returns what
// it measured.
func (e *env) runLoad(ctx context.Context, s loadSpec) (*loadgen.Result, error) {
	args := []string{"-url", s.url, "-c", strconv.Itoa(s.conns), "-d", e.cfg.duration.String(),
		"-warmup", e.cfg.warmup.String(), "-rate", strconv.FormatFloat(s.rate, 'f', -1, 64)}
	if s.method != "" {
		args = append(args, "-method", s.method)
	}
	for _, h := range s.header {
		args = append(args, "-H", h)
	}
	if s.body != "" {
		args = append(args, "-body", s.body)
	}
	if s.expect != 0 {
		args = append(args, "-expect", strconv.Itoa(s.expect))
	}
	out, err := os.CreateTemp(e.root, "load-*.json")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(out.Name()) }()
	defer func() { _ = out.Close() }()
	p, err := e.group.Start(procs.Spec{Name: "load", Path: e.load, Args: args, Stdout: out,
		Log: filepath.Join(e.root, "load.log")})
	if err != nil {
		return nil, err
	}
	limit := e.cfg.warmup + e.cfg.duration + 2*time.Minute
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("load generator on %s: %w (see %s)", s.url, err, filepath.Join(e.root, "load.log"))
	}
	p.Stop(0)
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	var r loadgen.Result
	if err := json.Unmarshal(bytes.TrimSpace(b), &r); err != nil {
		return nil, fmt.Errorf("load generator output %q: %w", b, err)
	}
	return &r, nil
}

// settle is how long a server is left alone before its footprint is read.
func (e *env) settle() time.Duration {
	if e.cfg.quick {
		return time.Second
	}
	return 2 * time.Second
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
