package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
)

// pprofArgs returns the flags that make dbaasd serve its Go profiles on a
// free port, and that port's base URL; none without -profile.
func (e *env) pprofArgs() ([]string, string, error) {
	if e.cfg.profile == "" {
		return nil, "", nil
	}
	port, err := dbaasd.FreePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return []string{"--pprof-listen", addr}, "http://" + addr, nil
}

// profileReadPath profiles dbaasd's read path (-profile): a CPU profile of
// dbaasd under the closed-loop load of each read endpoint, then a heap
// profile, each written as a text summary (go tool pprof -top) to
// PREFIX-<name>.txt. These loads are not part of the report's figures.
func profileReadPath(ctx context.Context, e *env, pprofURL string, targets map[string]string, header string) error {
	prefix := e.cfg.profile
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return err
	}
	d := e.cfg.duration
	for _, name := range []string{"get", "list"} {
		url := targets[name]
		raw := filepath.Join(e.root, "profile-"+name+".pb.gz")
		errc := make(chan error, 1)
		go func() {
			// The profile starts once the load is past its warm-up.
			if err := sleep(ctx, e.cfg.warmup); err != nil {
				errc <- err
				return
			}
			errc <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofURL, int(d.Seconds())), raw)
		}()
		r, err := e.runLoad(ctx, loadSpec{url: url, header: []string{header}, conns: e.cfg.conns, expect: 200})
		if err != nil {
			return err
		}
		if err := <-errc; err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		title := fmt.Sprintf("CPU profile of dbaasd serving GET %s, %d connections closed-loop, %s (%.0f req/s while profiled)",
			strings.TrimPrefix(url, urlBase(url)), e.cfg.conns, d, r.Throughput)
		if err := pprofTop(ctx, e, raw, prefix+"-"+name+"-cpu.txt", title, "-top", "-nodecount=45"); err != nil {
			return err
		}
		if err := pprofTop(ctx, e, raw, prefix+"-"+name+"-cpu-cum.txt", title+", sorted by cumulative time",
			"-top", "-cum", "-nodecount=45"); err != nil {
			return err
		}
		e.logf("profiled %s: %.0f req/s", name, r.Throughput)
	}
	raw := filepath.Join(e.root, "profile-heap.pb.gz")
	if err := fetch(ctx, pprofURL+"/debug/pprof/heap?gc=1", raw); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	for _, idx := range []string{"inuse_space", "alloc_space"} {
		title := "Heap profile of dbaasd after the read loads (" + idx + ")"
		if err := pprofTop(ctx, e, raw, prefix+"-heap-"+strings.TrimSuffix(idx, "_space")+".txt", title,
			"-top", "-nodecount=40", "-sample_index="+idx); err != nil {
			return err
		}
	}
	return nil
}

// urlBase is scheme://host of a URL.
func urlBase(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "/"); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

// fetch saves what a URL answers to a file.
func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// pprofTop writes the text summary of a profile, headed by a title.
func pprofTop(ctx context.Context, e *env, raw, out, title string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, args...), e.bin, raw)...)
	cmd.Env = procs.CleanEnv()
	text, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go tool pprof %s: %w", raw, err)
	}
	head := fmt.Sprintf("# %s\n# dbaasd %s, %s\n\n", title, e.commit, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return os.WriteFile(out, append([]byte(head), text...), 0o644)
}

// profileLive profiles dbaasd's CPU over window while measure runs (so the
// profile shows the work behind the figure measure takes), then its heap
// (after a GC), and writes text summaries of both to PREFIX-<name>-cpu.txt,
// -cpu-cum.txt and -heap.txt (-profile). It returns the files written.
func profileLive(ctx context.Context, e *env, pprofURL, name, what string, window time.Duration, measure func()) ([]string, error) {
	raw := filepath.Join(e.root, "profile-"+name+"-cpu.pb.gz")
	errc := make(chan error, 1)
	go func() {
		errc <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofURL, int(window.Seconds())), raw)
	}()
	measure()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	heap := filepath.Join(e.root, "profile-"+name+"-heap.pb.gz")
	if err := fetch(ctx, pprofURL+"/debug/pprof/heap?gc=1", heap); err != nil {
		return nil, fmt.Errorf("heap profile: %w", err)
	}
	base := e.cfg.profile + "-" + name
	title := fmt.Sprintf("CPU profile of dbaasd over %s, %s", window, what)
	written := []string{base + "-cpu.txt", base + "-cpu-cum.txt", base + "-heap.txt"}
	if err := pprofTop(ctx, e, raw, written[0], title, "-top", "-nodecount=40"); err != nil {
		return nil, err
	}
	if err := pprofTop(ctx, e, raw, written[1], title+", sorted by cumulative time", "-top", "-cum", "-nodecount=40"); err != nil {
		return nil, err
	}
	if err := pprofTop(ctx, e, heap, written[2], "Heap of dbaasd in use (after a GC), "+what, "-top", "-sample_index=inuse_space", "-nodecount=40"); err != nil {
		return nil, err
	}
	return written, nil
}
