// Package dbaasd runs bin/dbaasd as a process of its own for the benchmark
// harness and talks to its API.
package dbaasd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/procs"
)

// Options describe a dbaasd process.
type Options struct {
	Bin     string   // path of bin/dbaasd
	DataDir string   // --data-dir
	Store   string   // --store ("" = SQLite in the data dir)
	Tokens  []string // --token TOKEN=PROJECT_ID[:admin]
	Quotas  []string // --quota RESOURCE=N
	Args    []string // more flags
	Log     string   // file for its output
}

// Server is a running dbaasd.
type Server struct {
	URL  string
	Proc *procs.Proc
}

// Start runs dbaasd and waits until /healthz answers 200 (a first start
// prepares the engines' templates, which takes minutes on a busy machine).
func Start(ctx context.Context, g *procs.Group, o Options) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"--listen", addr, "--data-dir", o.DataDir, "--log-level", "warn"}
	if o.Store != "" {
		args = append(args, "--store", o.Store)
	}
	for _, t := range o.Tokens {
		args = append(args, "--token", t)
	}
	for _, q := range o.Quotas {
		args = append(args, "--quota", q)
	}
	args = append(args, o.Args...)
	p, err := g.Start(procs.Spec{Name: "dbaasd", Path: o.Bin, Args: args, Log: o.Log})
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr, Proc: p}
	if err := WaitHTTP(ctx, s.URL+"/healthz", 10*time.Minute, p); err != nil {
		p.Stop(10 * time.Second)
		return nil, fmt.Errorf("dbaasd did not become healthy (log: %s): %w", o.Log, err)
	}
	return s, nil
}

// Stop stops dbaasd (its engine servers keep running, as they do in
// production).
func (s *Server) Stop() { s.Proc.Stop(30 * time.Second) }

// WaitHTTP polls url until it answers 200, the timeout passes, or p (if
// not nil) exits.
func WaitHTTP(ctx context.Context, url string, timeout time.Duration, p *procs.Proc) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			return procs.ErrExited
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if last == nil {
		last = errors.New("no answer")
	}
	return fmt.Errorf("%s: %w", url, last)
}

// FreePort returns a TCP port on 127.0.0.1 that is free right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
