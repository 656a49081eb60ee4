package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
)

// prismBin is where bench/install.sh installs the Prism CLI.
const prismBin = "bench/.cache/prism/node_modules/.bin/prism"

// startPrism runs `prism mock` on api/openapi.yaml (static responses) and
// returns its base URL. It installs Prism with bench/install.sh first,
// except in quick mode, where a missing Prism is skipped.
func startPrism(ctx context.Context, e *env) (string, error) {
	if _, err := os.Stat(prismBin); err != nil {
		if e.cfg.quick {
			return "", errors.New("not installed (quick mode does not install it; run bench/install.sh or make bench)")
		}
		e.logf("installing Prism (bench/install.sh)")
		cmd := exec.CommandContext(ctx, "bench/install.sh")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("bench/install.sh: %w: %s", err, tail(out))
		}
		if _, err := os.Stat(prismBin); err != nil {
			return "", fmt.Errorf("bench/install.sh did not install %s", prismBin)
		}
	}
	bin, err := filepath.Abs(prismBin)
	if err != nil {
		return "", err
	}
	port, err := dbaasd.FreePort()
	if err != nil {
		return "", err
	}
	log := filepath.Join(e.root, "prism.log")
	p, err := e.group.Start(procs.Spec{Name: "prism", Path: bin,
		Args: []string{"mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "api/openapi.yaml"}, Log: log})
	if err != nil {
		return "", err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	probe := url + "/datastore-types"
	if err := waitPrism(ctx, probe, p); err != nil {
		p.Stop(5 * time.Second)
		return "", fmt.Errorf("prism mock did not start (log: %s): %w", log, err)
	}
	return url, nil
}

// waitPrism waits until Prism answers a request that needs a token.
func waitPrism(ctx context.Context, url string, p *procs.Proc) error {
	cl := dbaasd.NewClient("", "any-token")
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return procs.ErrExited
		}
		st, _, err := cl.Do(ctx, "GET", url, nil)
		if err == nil && st == 200 {
			return nil
		}
		last = fmt.Errorf("status %d, %v", st, err)
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return last
}

func tail(b []byte) string {
	if len(b) > 1000 {
		return "…" + string(b[len(b)-1000:])
	}
	return string(b)
}
