package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/loadgen"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/seed"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// engineOrder is the order engines are listed and seeded in.
var engineOrder = []string{"postgresql", "mysql_native", "mysql", "redis", "kafka"}

// bootToken is the static token of the dbaasd the harness starts to read,
// provision and scale (its project is not one of the seeded ones).
func bootToken() (token, flag string) {
	project := seed.ProjectID("static", 0)
	return "bench-static-token", "bench-static-token=" + project
}

// server is an HTTP server the read benchmark loads.
type server struct {
	name     string
	base     string
	getPath  string
	listPath string
}

// runAPI is sections 1 and 2 (and the dbaasd part of 5): it prepares a
// store of projects × per-project clusters, starts dbaasd on it, a bare
// handler serving the same bytes, and the Prism mock, and loads each.
func runAPI(ctx context.Context, e *env, res *results) error {
	token, tokenFlag := bootToken()
	dataDir, err := e.dir("read")
	if err != nil {
		return err
	}
	opts := dbaasd.Options{DataDir: dataDir, Tokens: []string{tokenFlag}}
	fp := &footprint{}
	// Prism takes seconds to start: it starts while the store is prepared.
	type started struct {
		url string
		err error
	}
	prism := make(chan started, 1)
	go func() {
		url, err := startPrism(ctx, e)
		prism <- started{url, err}
	}()

	// A first start prepares the engines' templates and the catalog.
	t := time.Now()
	srv, err := e.startDbaasd(ctx, "read", opts)
	if err != nil {
		return err
	}
	fp.startFresh = time.Since(t)
	e.logf("dbaasd first start (engine templates, catalog): %.1f s", fp.startFresh.Seconds())
	types, err := dbaasd.NewClient(srv.URL, token).TypeIDs(ctx)
	srv.Stop()
	if err != nil {
		return err
	}
	var seedTypes []seed.Type
	for _, eng := range engineOrder {
		if id := types[eng]; id != "" {
			seedTypes = append(seedTypes, seed.Type{ID: id, Engine: eng})
		}
	}

	// Idle with an empty store.
	t = time.Now()
	if srv, err = e.startDbaasd(ctx, "read", opts); err != nil {
		return err
	}
	fp.startEmpty = time.Since(t)
	if err := sleep(ctx, e.settle()); err != nil {
		srv.Stop()
		return err
	}
	fp.rssEmpty = sampleRSS(ctx, srv.Proc.PID())
	t = time.Now()
	fp.cpuEmpty = idleCPU(ctx, e, srv.Proc.PID())
	// Steady: RSS once more after the idle CPU windows.
	fp.rssEmptyLater = sampleRSS(ctx, srv.Proc.PID())
	fp.idleFor = time.Since(t)
	srv.Stop()

	// Seed the store directly, one transaction per project.
	e.logf("seeding %d projects × %d datastores", e.cfg.projects, e.cfg.perProj)
	t = time.Now()
	projects, err := seedStore(ctx, dataDir, seed.Spec{Projects: e.cfg.projects, PerProject: e.cfg.perProj, Types: seedTypes, Salt: "read"})
	if err != nil {
		return err
	}
	fp.seedTime = time.Since(t)
	e.logf("seeded %d clusters in %.1f s", e.cfg.projects*e.cfg.perProj, fp.seedTime.Seconds())
	fp.clusters = e.cfg.projects * e.cfg.perProj

	pprofArgs, pprofURL, err := e.pprofArgs()
	if err != nil {
		return err
	}
	full := opts
	full.Args = append(full.Args, pprofArgs...)
	t = time.Now()
	if srv, err = e.startDbaasd(ctx, "read", full); err != nil {
		return err
	}
	defer srv.Stop()
	fp.startFull = time.Since(t)
	proj := projects[0]
	cl := dbaasd.NewClient(srv.URL, proj.Token)
	getPath, listPath := "/v1/datastores/"+proj.DatastoreIDs[0], "/v1/datastores"
	getBody, err := cl.Get(ctx, getPath)
	if err != nil {
		return err
	}
	listBody, err := cl.Get(ctx, listPath)
	if err != nil {
		return err
	}
	for i := 0; i < 4; i++ { // the warm-up the footprint is measured after
		if _, err := cl.Get(ctx, listPath); err != nil {
			return err
		}
	}
	if err := sleep(ctx, e.settle()); err != nil {
		return err
	}
	fp.rssFull = sampleRSS(ctx, srv.Proc.PID())
	fp.cpuFull = idleCPU(ctx, e, srv.Proc.PID())
	fp.longIdle = e.longIdle()
	minute := func() { fp.cpuFullLong = idleCPUOver(ctx, srv.Proc.PID(), fp.longIdle) }
	if pprofURL == "" {
		minute()
	} else if _, err := profileLive(ctx, e, pprofURL, "idle", fmt.Sprintf("%d clusters stored", fp.clusters), fp.longIdle, minute); err != nil {
		res.note("api", "idle dbaasd not profiled: %v", err)
		e.logf("profile: %v", err)
	}

	bare, err := startBare(ctx, e, map[string][]byte{getPath: getBody, listPath: listBody})
	if err != nil {
		return err
	}
	fp.rssBare = sampleRSS(ctx, bare.Proc.PID())
	servers := []server{
		{"dbaasd", srv.URL, getPath, listPath},
		{"bare", bare.URL, getPath, listPath},
	}
	p := <-prism
	mock := p.url
	if p.err != nil {
		res.note("mock", "Prism mock not measured: %v", p.err)
		e.logf("prism: %v", p.err)
	} else {
		// Prism serves the paths of the document without the /v1 server prefix.
		servers = append(servers, server{"prism", mock, getPath[len("/v1"):], listPath[len("/v1"):]})
	}

	m, saturated, err := loadServers(ctx, e, servers, "X-Auth-Token: "+proj.Token)
	if err != nil {
		return err
	}
	fp.rssAfter = sampleRSS(ctx, srv.Proc.PID())
	if pprofURL != "" {
		targets := map[string]string{"get": srv.URL + getPath, "list": srv.URL + listPath}
		if err := profileReadPath(ctx, e, pprofURL, targets, "X-Auth-Token: "+proj.Token); err != nil {
			res.note("api", "read path not profiled: %v", err)
			e.logf("profile: %v", err)
		}
	}
	apiFigures(e, res, m, saturated, len(getBody), len(listBody), mock != "")
	fp.figures(e, res)
	return nil
}

// seedStore opens the store of a stopped dbaasd and seeds it.
func seedStore(ctx context.Context, dataDir string, spec seed.Spec) ([]seed.Project, error) {
	key, err := secret.LoadOrCreateKey(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	if spec.Hasher, err = secret.NewHasher(key); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, "", dataDir, box)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	return seed.Seed(ctx, st, spec)
}

// bareServer is the running baseline server.
type bareServer struct {
	URL  string
	Proc *procs.Proc
}

// startBare writes the bodies to files and serves them with bench/cmd/bare.
func startBare(ctx context.Context, e *env, bodies map[string][]byte) (*bareServer, error) {
	dir, err := e.dir("bare")
	if err != nil {
		return nil, err
	}
	port, err := dbaasd.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"-listen", addr}
	var probe string
	i := 0
	for path, body := range bodies {
		f := filepath.Join(dir, fmt.Sprintf("body-%d.json", i))
		i++
		if err := os.WriteFile(f, body, 0o644); err != nil {
			return nil, err
		}
		args = append(args, "-route", path+"="+f)
		probe = path
	}
	p, err := e.group.Start(procs.Spec{Name: "bare", Path: e.bare, Args: args, Log: filepath.Join(e.root, "bare.log")})
	if err != nil {
		return nil, err
	}
	url := "http://" + addr
	if err := dbaasd.WaitHTTP(ctx, url+probe, 30*time.Second, p); err != nil {
		p.Stop(time.Second)
		return nil, fmt.Errorf("bare server: %w", err)
	}
	return &bareServer{URL: url, Proc: p}, nil
}

// measurements are load results by key (server/endpoint/mode), one per run.
type measurements map[string][]*loadgen.Result

func key(server, endpoint, mode string) string { return server + "/" + endpoint + "/" + mode }

// loadServers runs the read loads, the servers interleaved within each run
// so that a change of the machine's load affects them alike. The open-loop
// load of a server is skipped in a run where its closed-loop throughput
// stayed below the rate (its latency would only measure a growing queue);
// saturated counts those runs.
func loadServers(ctx context.Context, e *env, servers []server, header string) (m measurements, saturated map[string]int, err error) {
	m, saturated = measurements{}, map[string]int{}
	for run := 1; run <= e.cfg.runs; run++ {
		for _, ep := range []string{"get", "list"} {
			for _, mode := range []string{"closed", "rate"} {
				for _, s := range servers {
					if mode == "rate" && s.name == "prism" {
						continue
					}
					path := s.getPath
					if ep == "list" {
						path = s.listPath
					}
					spec := loadSpec{url: s.base + path, header: []string{header}, conns: e.cfg.conns, expect: 200}
					if mode == "rate" {
						closed := m[key(s.name, ep, "closed")]
						if tp := closed[len(closed)-1].Throughput; tp < e.cfg.rate {
							saturated[key(s.name, ep, mode)]++
							e.logf("run %d/%d %-22s skipped: %.0f req/s closed-loop, below the rate", run, e.cfg.runs, key(s.name, ep, mode), tp)
							continue
						}
						spec.rate = e.cfg.rate
					}
					r, err := e.runLoad(ctx, spec)
					if err != nil {
						return nil, nil, err
					}
					k := key(s.name, ep, mode)
					m[k] = append(m[k], r)
					e.logf("run %d/%d %-22s %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %d", run, e.cfg.runs, k,
						r.Throughput, r.P50, r.P99, r.Errors)
				}
			}
		}
	}
	return m, saturated, nil
}

// field extracts one number of each run's result.
func (m measurements) field(k string, f func(*loadgen.Result) float64) []float64 {
	var out []float64
	for _, r := range m[k] {
		out = append(out, f(r))
	}
	return out
}

func throughput(r *loadgen.Result) float64 { return r.Throughput }
func p50(r *loadgen.Result) float64        { return r.P50 }
func p99(r *loadgen.Result) float64        { return r.P99 }

// apiFigures records the figures and the detail table of sections 1 and 2.
func apiFigures(e *env, res *results, m measurements, saturated map[string]int, getBytes, listBytes int, withMock bool) {
	conns := strconv.Itoa(e.cfg.conns)
	rate := report.Num(e.cfg.rate)
	clusters := fmt.Sprintf("%d clusters", e.cfg.perProj)
	// Targets (issue 14): a single datastore at least half the bare
	// handler's throughput with p99 under 5 ms at the rate; a list of 100
	// at least 0.3× the bare handler (and 5× the mock, below).
	for _, ep := range []struct {
		id, name         string
		minRatio, maxP99 float64
	}{
		{"get", "GET /v1/datastores/{id}", 0.5, 5}, {"list", "GET /v1/datastores (" + clusters + ")", 0.3, 10},
	} {
		res.add(&figure{section: "api", name: ep.name + ": throughput, " + conns + " connections", unit: "req/s",
			values: m.field(key("dbaasd", ep.id, "closed"), throughput), baseName: "bare net/http handler, same bytes",
			base: m.field(key("bare", ep.id, "closed"), throughput), target: ratioAtLeast{ep.minRatio}})
		f := res.add(&figure{section: "api", name: ep.name + ": p99 at " + rate + " req/s (open loop)", unit: "ms",
			values: m.field(key("dbaasd", ep.id, "rate"), p99), baseName: "bare handler p99 at the same rate",
			base: m.field(key("bare", ep.id, "rate"), p99), target: below{ep.maxP99, "ms"}})
		if n := saturated[key("dbaasd", ep.id, "rate")]; n > 0 {
			tp := summarize(m.field(key("dbaasd", ep.id, "closed"), throughput))
			f.unmeasured = fmt.Sprintf("in %d of %d runs dbaasd served fewer than %s req/s closed-loop (at most %s): no open-loop run there, its latency would only measure a growing queue",
				n, e.cfg.runs, rate, report.Num(tp.Max))
		}
	}
	if withMock {
		for _, ep := range []struct {
			id, name string
			target   target
		}{
			{"get", "GET /v1/datastores/{id}", ratioAbove{1}}, {"list", "GET /v1/datastores", ratioAtLeast{5}},
		} {
			res.add(&figure{section: "mock", name: ep.name + ": throughput against the mock, " + conns + " connections",
				unit: "req/s", values: m.field(key("dbaasd", ep.id, "closed"), throughput),
				baseName: "Prism mock of api/openapi.yaml", base: m.field(key("prism", ep.id, "closed"), throughput),
				target: ep.target})
		}
	}
	d := &detail{title: "Read path, every load", header: []string{"endpoint", "server", "load", "throughput (req/s)",
		"p50 (ms)", "p99 (ms)", "body (bytes)", "errors"}}
	for _, ep := range []string{"get", "list"} {
		for _, mode := range []string{"closed", "rate"} {
			for _, s := range []string{"dbaasd", "bare", "prism"} {
				k := key(s, ep, mode)
				if len(m[k]) == 0 {
					continue
				}
				load := conns + " connections"
				if mode == "rate" {
					load = rate + " req/s, " + conns + " connections"
				}
				errs, reqs, dropped := 0, 0, 0
				var bytes, ok int64
				for _, r := range m[k] {
					errs += r.Errors
					reqs += r.Requests
					dropped += r.Dropped
					bytes += r.Bytes
					ok += int64(r.Requests - r.Errors)
				}
				body := "—"
				if ok > 0 {
					body = strconv.FormatInt(bytes/ok, 10)
				}
				name := map[string]string{"get": "GET /v1/datastores/{id}", "list": "GET /v1/datastores"}[ep]
				d.rows = append(d.rows, []string{name, s, load,
					report.Summary(summarize(m.field(k, throughput)), ""),
					report.Summary(summarize(m.field(k, p50)), ""),
					report.Summary(summarize(m.field(k, p99)), ""),
					body, errorsCell(errs, reqs, dropped)})
			}
		}
	}
	d.notes = append(d.notes,
		fmt.Sprintf("dbaasd's bodies: %d bytes (one datastore), %d bytes (%s); the bare handler serves these same bytes.", getBytes, listBytes, clusters),
		"Open-loop loads run only where the server's closed-loop throughput of the same run exceeded the rate.",
		"Closed loop: each connection sends its next request when the previous one is answered. Open loop: requests are due at a fixed rate whatever the server does, and latency runs from when a request was due (no coordinated omission).")
	res.addDetail("api", d)
}

// errorsCell describes failed (and dropped) requests of a load.
func errorsCell(errs, reqs, dropped int) string {
	s := fmt.Sprintf("%d of %d", errs, reqs)
	if dropped > 0 {
		s += fmt.Sprintf(", %d dropped (due, never sent)", dropped)
	}
	return s
}
