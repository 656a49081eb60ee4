package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
	"github.com/dbaasd/dbaasd/bench/internal/sysinfo"
)

// pprofArgs returns the flags that make a dbaasd serve its profiles on a
// free port, and the base URL to fetch them from.
func pprofArgs() ([]string, string, error) {
	port, err := dbaasd.FreePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return []string{"--pprof-listen", addr}, "http://" + addr, nil
}

// profileSpec is one text summary written beside the report.
type profileSpec struct {
	file  string   // name in the profile directory
	path  string   // pprof path, with its query
	args  []string // go tool pprof options
	title string
}

// captureProfiles fetches a CPU profile (over window) and a heap profile
// from a dbaasd serving pprof at base, and writes their `go tool pprof
// -top` summaries as <dir>/<name>-cpu.txt and <dir>/<name>-heap.txt. The
// raw profiles stay under the run's temporary directory.
func captureProfiles(ctx context.Context, e *env, base, dir, name, what string, window time.Duration) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	raw, err := e.dir("profiles")
	if err != nil {
		return nil, err
	}
	specs := []profileSpec{
		{file: name + "-cpu.txt", path: fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(window.Seconds())),
			args: []string{"-top", "-nodecount=40"}, title: fmt.Sprintf("CPU profile over %s", window)},
		{file: name + "-cpu-cum.txt", path: "", args: []string{"-top", "-cum", "-nodecount=40"},
			title: fmt.Sprintf("CPU profile over %s, by cumulative time", window)},
		{file: name + "-heap.txt", path: "/debug/pprof/heap?gc=1", args: []string{"-top", "-sample_index=inuse_space", "-nodecount=40"},
			title: "heap profile (in use, after a GC)"},
	}
	var written []string
	var last string
	for _, s := range specs {
		src := last
		if s.path != "" {
			src = filepath.Join(raw, strings.TrimSuffix(s.file, ".txt")+".pb.gz")
			if err := fetchTo(ctx, base+s.path, src, window+time.Minute); err != nil {
				return written, err
			}
			last = src
		}
		cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, s.args...), src)...)
		cmd.Env = procs.CleanEnv()
		out, err := cmd.Output()
		if err != nil {
			return written, fmt.Errorf("go tool pprof %s: %w", src, err)
		}
		head := fmt.Sprintf("# %s of an idle dbaasd: %s\n# captured %s by bench/cmd/harness from %s (checkout %s); `go tool pprof %s`\n\n",
			s.title, what, time.Now().UTC().Format("2006-01-02 15:04 MST"), e.cfg.dbaasdBin, orDash(sysinfo.Read().Commit), strings.Join(s.args, " "))
		dst := filepath.Join(dir, s.file)
		if err := os.WriteFile(dst, append([]byte(head), out...), 0o644); err != nil {
			return written, err
		}
		written = append(written, dst)
	}
	return written, nil
}

// fetchTo downloads url into path.
func fetchTo(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: status %d: %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
