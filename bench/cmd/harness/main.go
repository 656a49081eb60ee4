// Command harness benchmarks dbaasd against its baselines and writes a
// Markdown report (see bench/README.md):
//
//  1. the API read path (GET /v1/datastores/{id} and GET /v1/datastores
//     from a store of 10,000 clusters) against a bare net/http handler
//     serving the same bytes, closed-loop and at a fixed rate;
//  2. the same reads against a Prism mock of api/openapi.yaml;
//  3. the write path (creating Prometheus metrics tokens) on SQLite and on
//     PostgreSQL against raw inserts into the same database;
//  4. provisioning (create → ACTIVE) of 1- and 3-node clusters of every
//     engine against starting the engine by hand;
//  5. the footprint of dbaasd and of idle clusters;
//  6. create times as clusters accumulate;
//  7. failover times;
//  8. the web console's first page load in headless Chromium.
//
// Every process and file it creates lives under one temporary directory
// and is removed at the end, also on failure or interrupt (a second
// interrupt skips the graceful part of the cleanup).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/sysinfo"
)

// config is the run's settings.
type config struct {
	out       string
	quick     bool
	runs      int
	duration  time.Duration
	warmup    time.Duration
	conns     int
	rate      float64
	projects  int
	perProj   int
	scaleN    int
	engines   []string
	sections  map[string]bool
	dbaasdBin string
	keep      bool
	// profile, when set, is the path prefix of the read path's CPU and
	// heap profile summaries (section api).
	profile string
	k8sEnv  string
}

// allSections in the order they run.
var allSections = []string{"api", "write", "provision", "scale", "failover", "console", "kubernetes"}

func parseFlags() (config, error) {
	var c config
	var engines, sections string
	flag.StringVar(&c.out, "out", "bench/results/latest.md", "report file")
	flag.BoolVar(&c.quick, "quick", false, "CI mode: one short run of each figure, smaller counts, slow engines skipped")
	flag.IntVar(&c.runs, "runs", 0, "runs of each figure (default 5; 1 with -quick)")
	flag.DurationVar(&c.duration, "d", 0, "recorded duration of each load run (default 5s; 1s with -quick)")
	flag.DurationVar(&c.warmup, "warmup", 0, "unrecorded warm-up of each load run (default 1s; 300ms with -quick)")
	flag.IntVar(&c.conns, "c", 32, "connections of closed-loop load")
	flag.Float64Var(&c.rate, "rate", 1000, "requests per second of open-loop load")
	flag.IntVar(&c.projects, "projects", 100, "projects in the read benchmark's store")
	flag.IntVar(&c.perProj, "per-project", 100, "datastores per project in the read benchmark's store")
	flag.IntVar(&c.scaleN, "scale", 0, "clusters created back to back (default 50; 10 with -quick)")
	flag.StringVar(&engines, "engines", "", "engines to provision, comma-separated (default all; quick: postgresql,redis,kafka)")
	flag.StringVar(&sections, "sections", strings.Join(allSections, ","), "sections to run, comma-separated")
	flag.StringVar(&c.dbaasdBin, "dbaasd", "bin/dbaasd", "dbaasd binary (make build)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs, data) for inspection")
	flag.StringVar(&c.profile, "profile", "", "profile the read path (section api) and write text summaries to PREFIX-*.txt")
	flag.StringVar(&c.k8sEnv, "k8s-env", "", "env file of a Kubernetes cluster for the kubernetes section (scripts/k8s/up.sh writes /var/lib/dbaasd-k8s/env)")
	flag.Parse()
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	defD := func(v *time.Duration, full, quick time.Duration) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	def(&c.runs, 5, 1)
	def(&c.scaleN, 50, 10)
	defD(&c.duration, 5*time.Second, time.Second)
	defD(&c.warmup, time.Second, 300*time.Millisecond)
	if engines == "" {
		engines = "postgresql,mysql_native,mysql,redis,kafka"
		if c.quick {
			engines = "postgresql,redis,kafka"
		}
	}
	c.engines = strings.Split(engines, ",")
	c.sections = map[string]bool{}
	for _, s := range strings.Split(sections, ",") {
		s = strings.TrimSpace(s)
		known := false
		for _, a := range allSections {
			known = known || a == s
		}
		if !known {
			return c, fmt.Errorf("-sections: unknown section %q (known: %s)", s, strings.Join(allSections, ", "))
		}
		c.sections[s] = true
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return c, errors.New("run the harness from the repository root (make bench)")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	os.Exit(run(cfg))
}

// run measures and writes the report; it returns the exit code.
func run(cfg config) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now()
	machine := sysinfo.Read()
	e, err := newEnv(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	// First signal: stop measuring and clean up. Second: clean up now.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		e.logf("interrupted: stopping and cleaning up (interrupt again to hurry)")
		cancel()
		<-sigs
		e.hurry()
		os.Exit(130)
	}()
	defer e.Close()
	e.commit = machine.Commit

	res := newResults()
	sections := map[string]func(context.Context, *env, *results) error{
		"api": runAPI, "write": runWrite, "provision": runProvision, "scale": runScale, "failover": runFailover,
		"console": runConsole, "kubernetes": runKubernetes,
	}
	for _, name := range allSections {
		if !cfg.sections[name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		e.logf("== %s", name)
		if err := sections[name](ctx, e, res); err != nil {
			e.logf("%s failed: %v", name, err)
			res.fail(name, err)
		}
	}
	if ctx.Err() != nil {
		e.logf("interrupted: no report written")
		return 130
	}
	e.logf("cleaning up")
	e.Close()
	doc := writeReport(cfg, machine, sysinfo.LoadAvg(), time.Since(started), res)
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	if err := os.WriteFile(cfg.out, []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	e.logf("report written to %s", cfg.out)
	if res.failed() {
		return 1
	}
	return 0
}
