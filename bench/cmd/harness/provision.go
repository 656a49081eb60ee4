package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/barestart"
	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/procs"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/rss"
)

// bareOf is the bare start each engine is compared with.
var bareOf = map[string]string{
	"postgresql": "postgresql", "mysql_native": "mariadb", "mysql": "mariadb", "redis": "redis", "kafka": "kafka",
}

// bareName describes each bare start.
var bareName = map[string]string{
	"postgresql": "bare initdb + pg_ctl start -w",
	"mariadb":    "bare mariadb-install-db + mariadbd until it answers",
	"redis":      "bare redis-server until PING",
	"kafka":      "bare `dbaasd kafka-broker` until a SASL metadata answer",
}

// atOnceOf is how many servers of each bare engine a 3-node cluster
// starts (a Redis cluster's three Sentinels are redis-server processes
// too); startTemplates is where dbaasd keeps the data directory each copies
// (under its data dir; a glob).
var (
	atOnceOf       = map[string]int{"postgresql": 3, "mariadb": 3, "galera": 3, "redis": 6}
	startTemplates = map[string]string{"postgresql": "templates/postgresql/*/data", "mariadb": "templates/mysql/data", "galera": "templates/mysql/data"}
)

// atOnceBare is the bare start of several servers at once that an engine's
// 3-node cluster is compared with: for Galera (mysql) the nodes of a new
// Galera cluster, synced, not three lone servers.
func atOnceBare(eng string) string {
	if eng == "mysql" {
		return "galera"
	}
	return bareOf[eng]
}

// atOnceName describes a bare start of k servers at once.
func atOnceName(b string, k int) string {
	if b == "galera" {
		return fmt.Sprintf("bare galera: %d MariaDB nodes of one new Galera cluster started at once from dbaasd's template (dbaasd's group communication timers, plain TCP), until all are synced", k)
	}
	how := "from dbaasd's template"
	if startTemplates[b] == "" {
		how = "on the command line"
	}
	return fmt.Sprintf("bare %s: %d servers started at once %s, until all answer", b, k, how)
}

// fastEngines start in well under a second; quick mode builds 3-node
// clusters of these only.
var fastEngines = map[string]bool{"redis": true, "kafka": true}

// pg3NodeRatio is the most a 3-node PostgreSQL create may take against a
// 1-node one (replicas start beside the primary, from the same template).
const pg3NodeRatio = 1.5

// createPoll is how often a new datastore's status is polled.
const createPoll = 25 * time.Millisecond

// provisionQuotas lift the default project quotas for the benchmarks that
// create clusters.
var provisionQuotas = []string{"datastores=100000", "cores=1000000", "ram=1000000000", "disk_local=100000000"}

// clusterRun is one create of one engine and size.
type clusterRun struct {
	create, delete time.Duration
	mem            rss.Usage
	// cpu is the CPU time (s) the create took: dbaasd's own and that of
	// what it ran, and every process of the cluster up to ACTIVE.
	cpu float64
}

// bareRun is one bare start.
type bareRun struct {
	start time.Duration
	mem   rss.Usage
}

// atOnceRun is one server, then atOnceOf servers, started at the same time
// the way dbaasd starts a node (from its template), without dbaasd.
type atOnceRun struct{ one, many time.Duration }

// runProvision is section 4 (and the cluster part of 5): create → ACTIVE
// of 1- and 3-node clusters of each engine, each beside the engine's bare
// start in the same run, and the memory of each idle cluster.
func runProvision(ctx context.Context, e *env, res *results) error {
	const sec = "provision"
	cs, err := startClusterServer(ctx, e, "p")
	if err != nil {
		return err
	}
	defer cs.stop(e)
	srv, cl, dataDir, types := cs.srv, cs.cl, cs.dataDir, cs.types
	var engines []string
	for _, eng := range e.cfg.engines {
		if types[eng] == "" {
			res.note(sec, "%s: not in dbaasd's catalog (engine not installed?): skipped", eng)
			continue
		}
		engines = append(engines, eng)
	}
	notOffered := map[string]string{} // engine/nodes → why not measured
	sizes := func(eng string) []int {
		if e.cfg.quick && !fastEngines[eng] {
			notOffered[eng+"/3"] = "skipped in quick mode"
			return []int{1}
		}
		return []int{1, 3}
	}
	if e.cfg.quick {
		res.note(sec, "quick mode: engines %s only; 3-node clusters of %s only", strings.Join(engines, ", "), "redis and kafka")
	}

	created := map[string][]clusterRun{} // engine/nodes
	bares := map[string][]bareRun{}      // bare engine
	atOnce := map[string][]atOnceRun{}   // bare engine
	broken := map[string]bool{}
	for run := 1; run <= e.cfg.runs; run++ {
		measuredBare, measuredAtOnce := map[string]bool{}, map[string]bool{}
		for _, eng := range engines {
			if broken[eng] {
				continue
			}
			if b := bareOf[eng]; !measuredBare[b] {
				measuredBare[b] = true
				br, err := bareStart(ctx, e, b, run)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					res.fail(sec, fmt.Errorf("bare %s: %w", b, err))
				} else {
					bares[b] = append(bares[b], br)
					e.logf("run %d/%d bare %-12s %6.2f s  RSS %5.1f MiB", run, e.cfg.runs, b, br.start.Seconds(), rss.MiB(br.mem.RSS))
				}
			}
			if b := atOnceBare(eng); !measuredAtOnce[b] && atOnceOf[b] > 0 && notOffered[eng+"/3"] == "" && len(sizes(eng)) > 1 {
				measuredAtOnce[b] = true
				k := atOnceOf[b]
				ar, err := startAtOnce(ctx, e, dataDir, b, k, run)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					res.fail(sec, fmt.Errorf("bare %s, %d at once: %w", b, k, err))
				} else {
					atOnce[b] = append(atOnce[b], ar)
					e.logf("run %d/%d bare %-12s 1 from the template %.2f s, %d at once %.2f s", run, e.cfg.runs, b, ar.one.Seconds(), k, ar.many.Seconds())
				}
			}
			for _, nodes := range sizes(eng) {
				k := eng + "/" + strconv.Itoa(nodes)
				if notOffered[k] != "" {
					continue
				}
				cr, err := createOne(ctx, e, cl, dataDir, srv.Proc.PID(), types[eng], eng, nodes, run)
				var apiErr *dbaasd.APIError
				if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest && strings.Contains(apiErr.Body, "node_count") {
					notOffered[k] = apiErr.Message()
					res.note(sec, "%s: %d-node clusters are not offered (dbaasd answers: %s)", eng, nodes, apiErr.Message())
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					res.fail(sec, fmt.Errorf("%s, %d node(s), run %d: %w", eng, nodes, run, err))
					broken[eng] = true
					break
				}
				created[k] = append(created[k], cr)
				e.logf("run %d/%d %-12s %d node(s) %6.2f s to ACTIVE, %5.2f s to delete, RSS %5.1f MiB (%d processes)",
					run, e.cfg.runs, eng, nodes, cr.create.Seconds(), cr.delete.Seconds(), rss.MiB(cr.mem.RSS), cr.mem.Procs)
			}
		}
	}
	provisionFigures(res, engines, created, bares, notOffered)
	atOnceFigures(res, engines, created, atOnce, notOffered)
	return nil
}

// createOne creates a datastore, waits until it is ACTIVE, measures the
// memory of its servers, deletes it and waits until it is gone.
func createOne(ctx context.Context, e *env, cl *dbaasd.Client, dataDir string, dbaasdPID int, typeID, eng string, nodes, run int) (clusterRun, error) {
	var cr clusterRun
	name := fmt.Sprintf("bench-%s-%d-%d", eng, nodes, run)
	cpu0, _ := rss.TotalCPUSeconds(dbaasdPID)
	t := time.Now()
	id, err := cl.CreateDatastore(ctx, typeID, eng, name, nodes)
	if err != nil {
		return cr, err
	}
	if err := cl.WaitStatus(ctx, id, "ACTIVE", createPoll, 10*time.Minute); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		_ = cl.DeleteDatastore(dctx, id, 5*time.Minute)
		return cr, err
	}
	cr.create = time.Since(t)
	cr.cpu = createCPU(dataDir, id, dbaasdPID, cpu0)
	if err := sleep(ctx, time.Second); err == nil {
		cr.mem = clusterUsage(dataDir, id, dbaasdPID)
	}
	t = time.Now()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if err := cl.DeleteDatastore(dctx, id, 5*time.Minute); err != nil {
		return cr, err
	}
	cr.delete = time.Since(t)
	return cr, ctx.Err()
}

// createCPU is the CPU time of a create that just ended: dbaasd's since
// cpu0 (with what it ran and reaped: pg_ctl, initdb, useradd…) and all of
// the cluster's processes (with the children they reaped). It also counts
// dbaasd's background loops during the create, which are idle then.
func createCPU(dataDir, datastoreID string, dbaasdPID int, cpu0 float64) float64 {
	total := 0.0
	if cpu1, err := rss.TotalCPUSeconds(dbaasdPID); err == nil {
		total = cpu1 - cpu0
	}
	for _, pid := range procs.Under(filepath.Join(dataDir, "clusters", datastoreID), map[int]bool{dbaasdPID: true}) {
		if s, err := rss.TotalCPUSeconds(pid); err == nil {
			total += s
		}
	}
	return total
}

// clusterServer is a dbaasd the harness creates clusters in.
type clusterServer struct {
	srv     *dbaasd.Server
	cl      *dbaasd.Client
	dataDir string
	types   map[string]string // datastore type IDs by engine
}

// startClusterServer starts a dbaasd (its data dir named name) for a
// section that creates clusters, with quotas lifted and the extra flags
// given.
func startClusterServer(ctx context.Context, e *env, name string, args ...string) (*clusterServer, error) {
	token, tokenFlag := bootToken()
	dataDir, err := e.dir(name)
	if err != nil {
		return nil, err
	}
	srv, err := e.startDbaasd(ctx, name, dbaasd.Options{DataDir: dataDir, Tokens: []string{tokenFlag}, Quotas: provisionQuotas, Args: args})
	if err != nil {
		return nil, err
	}
	cs := &clusterServer{srv: srv, cl: dbaasd.NewClient(srv.URL, token), dataDir: dataDir}
	if cs.types, err = cs.cl.TypeIDs(ctx); err != nil {
		cs.stop(e)
		return nil, err
	}
	return cs, nil
}

// stop deletes every cluster still there and stops dbaasd.
func (cs *clusterServer) stop(e *env) {
	deleteAll(e, cs.cl)
	cs.srv.Stop()
}

// bareStart measures one bare start of an engine, its memory once idle,
// then stops it and removes its files.
func bareStart(ctx context.Context, e *env, engine string, run int) (bareRun, error) {
	var br bareRun
	dir := filepath.Join(e.root, "bare-engines", fmt.Sprintf("%s-%d", engine, run))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return br, err
	}
	t := time.Now()
	s, err := barestart.Start(ctx, engine, barestart.Options{Runner: e.runner, Dir: dir, DbaasdBin: e.bin})
	if err != nil {
		return br, err
	}
	br.start = time.Since(t)
	if err := sleep(ctx, time.Second); err == nil {
		br.mem = treeUsage(s.PID)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	stopErr := s.Stop(sctx)
	_ = os.RemoveAll(dir)
	return br, stopErr
}

// startAtOnce starts one bare server of engine the way dbaasd starts a node
// (on a copy of dbaasd's template, where the engine has one), then k at the
// same time, stopping each set once it answered.
func startAtOnce(ctx context.Context, e *env, dataDir, engine string, k, run int) (atOnceRun, error) {
	var ar atOnceRun
	o := barestart.Options{Runner: e.runner, DbaasdBin: e.bin}
	if glob := startTemplates[engine]; glob != "" {
		m, _ := filepath.Glob(filepath.Join(dataDir, glob))
		if len(m) != 1 {
			return ar, fmt.Errorf("dbaasd's %s template: %d matches of %s", engine, len(m), glob)
		}
		o.Template = m[0]
	}
	for _, n := range []int{1, k} {
		o.Dir = filepath.Join(e.root, "bare-engines", fmt.Sprintf("%s-%d-at-once-%d", engine, n, run))
		if err := os.MkdirAll(filepath.Dir(o.Dir), 0o755); err != nil {
			return ar, err
		}
		servers, took, err := barestart.StartAtOnce(ctx, engine, n, o)
		if err != nil {
			return ar, err
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		var errs []error
		for _, s := range servers {
			errs = append(errs, s.Stop(sctx))
		}
		cancel()
		_ = os.RemoveAll(o.Dir)
		if err := errors.Join(errs...); err != nil {
			return ar, err
		}
		if n == 1 {
			ar.one = took
		} else {
			ar.many = took
		}
	}
	return ar, nil
}

// atOnceFigures add, for each engine with 3-node clusters, how much longer
// its servers take to start all at once than one alone on this machine,
// and the least a 3-node create can then take: a 1-node create with that
// difference added (dbaasd's own work for a cluster does not shrink with
// more nodes).
func atOnceFigures(res *results, engines []string, created map[string][]clusterRun, atOnce map[string][]atOnceRun, notOffered map[string]string) {
	done := map[string]bool{}
	for _, eng := range engines {
		b := atOnceBare(eng)
		runs, one := atOnce[b], created[eng+"/1"]
		if len(runs) == 0 || len(one) == 0 || notOffered[eng+"/3"] != "" {
			continue
		}
		k := atOnceOf[b]
		var ones, manys []float64
		for _, r := range runs {
			ones, manys = append(ones, r.one.Seconds()), append(manys, r.many.Seconds())
		}
		if !done[b] {
			done[b] = true
			baseName := "1 server started the same way"
			if b == "galera" {
				baseName = "1 plain server from the template"
			}
			res.add(&figure{section: "provision", name: atOnceName(b, k), unit: "s",
				values: manys, baseName: baseName, base: ones})
		}
		var least, base []float64
		for i := 0; i < len(runs) && i < len(one); i++ {
			least = append(least, one[i].create.Seconds()-ones[i]+manys[i])
			base = append(base, one[i].create.Seconds())
		}
		what := fmt.Sprintf("%d servers at once take more than 1", k)
		if b == "galera" {
			what = fmt.Sprintf("%d Galera nodes at once take more than 1 plain server", k)
		}
		res.add(&figure{section: "provision", name: fmt.Sprintf("%s, 3 nodes: the least create → ACTIVE those starts allow (1 node's, plus what %s)", eng, what), unit: "s",
			values: least, baseName: eng + ", 1 node: create → ACTIVE", base: base})
	}
}

// deleteAll deletes every datastore the project still has (the cleanup of
// the sections that create clusters; best effort).
func deleteAll(e *env, cl *dbaasd.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ids, err := cl.LiveDatastores(ctx)
	if err != nil {
		e.logf("cleanup: list datastores: %v", err)
		return
	}
	for _, id := range ids {
		if err := cl.DeleteDatastore(ctx, id, 5*time.Minute); err != nil {
			e.logf("cleanup: %v", err)
		}
	}
}

// provisionFigures records the figures and detail tables of section 4.
func provisionFigures(res *results, engines []string, created map[string][]clusterRun, bares map[string][]bareRun, notOffered map[string]string) {
	secs := func(rs []clusterRun, f func(clusterRun) time.Duration) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, f(r).Seconds())
		}
		return out
	}
	mem := func(rs []clusterRun, f func(rss.Usage) int64) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, rss.MiB(f(r.mem)))
		}
		return out
	}
	bareSecs := func(rs []bareRun) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, r.start.Seconds())
		}
		return out
	}
	bareMem := func(rs []bareRun, f func(rss.Usage) int64) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, rss.MiB(f(r.mem)))
		}
		return out
	}
	rssOf := func(u rss.Usage) int64 { return u.RSS }
	pssOf := func(u rss.Usage) int64 { return u.PSS }
	createOf := func(r clusterRun) time.Duration { return r.create }
	cpus := func(rs []clusterRun) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, r.cpu)
		}
		return out
	}
	deleteOf := func(r clusterRun) time.Duration { return r.delete }
	perCore := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x / float64(runtime.NumCPU())
		}
		return out
	}

	timing := &detail{title: "Provisioning: create → ACTIVE, each beside the engine's bare start",
		header: []string{"engine", "nodes", "create → ACTIVE (s)", "bare start (s)", "× bare", "× 1 node", "CPU of the create (s)", "CPU × 1 node", "delete → DELETED (s)"}}
	memory := &detail{title: "Memory of an idle cluster (sum over its processes)",
		header: []string{"engine", "nodes", "processes", "RSS (MiB)", "PSS (MiB)", "bare server RSS (MiB)", "bare server PSS (MiB)"}}
	for _, eng := range engines {
		b := bareOf[eng]
		one, three := created[eng+"/1"], created[eng+"/3"]
		var target1 target
		target3 := target(ratioAtMost{2})
		if eng == "postgresql" {
			target1, target3 = ratioAtMost{1}, ratioAtMost{pg3NodeRatio}
		}
		f1 := res.add(&figure{section: "provision", name: eng + ", 1 node: create → ACTIVE", unit: "s",
			values: secs(one, createOf), baseName: bareName[b], base: bareSecs(bares[b]), target: target1})
		f3 := &figure{section: "provision", name: eng + ", 3 nodes: create → ACTIVE", unit: "s",
			values: secs(three, createOf), baseName: eng + ", 1 node (dbaasd)", base: secs(one, createOf), target: target3}
		if notOffered[eng+"/3"] == "" {
			res.add(f3)
			res.add(&figure{section: "provision", name: eng + ", 3 nodes: CPU time of create → ACTIVE (dbaasd and the servers)", unit: "s",
				values: cpus(three), baseName: eng + ", 1 node (dbaasd)", base: cpus(one)})
			// However parallel the nodes start, this machine's cores
			// cannot do that work faster than this.
			res.add(&figure{section: "provision", name: fmt.Sprintf("%s, 3 nodes: that CPU time / %d cores (the fastest a 3-node create can be here)", eng, runtime.NumCPU()), unit: "s",
				values: perCore(cpus(three)), baseName: eng + ", 1 node: create → ACTIVE", base: secs(one, createOf)})
		}
		res.add(&figure{section: "footprint", name: "RSS of an idle " + eng + " cluster, 1 node", unit: "MiB",
			values: mem(one, rssOf), baseName: strings.TrimPrefix(bareName[b], "bare ") + " (bare, RSS)", base: bareMem(bares[b], rssOf)})
		for _, row := range []struct {
			nodes int
			rs    []clusterRun
			f     *figure
		}{{1, one, f1}, {3, three, f3}} {
			if notOffered[eng+"/"+strconv.Itoa(row.nodes)] != "" {
				continue
			}
			x1, cpu1 := "—", "—"
			if row.nodes == 3 {
				x1 = report.Ratio(row.f.ratio())
				cpu1 = report.Ratio(medianRatio(cpus(row.rs), cpus(one)))
			}
			xb := report.Ratio(medianRatio(secs(row.rs, createOf), bareSecs(bares[b])))
			timing.rows = append(timing.rows, []string{eng, strconv.Itoa(row.nodes), report.Summary(summarize(secs(row.rs, createOf)), ""),
				report.Summary(summarize(bareSecs(bares[b])), ""), xb, x1, report.Summary(summarize(cpus(row.rs)), ""), cpu1,
				report.Summary(summarize(secs(row.rs, deleteOf)), "")})
			procsN := "—"
			if len(row.rs) > 0 {
				procsN = strconv.Itoa(row.rs[len(row.rs)-1].mem.Procs)
			}
			memory.rows = append(memory.rows, []string{eng, strconv.Itoa(row.nodes), procsN,
				report.Summary(summarize(mem(row.rs, rssOf)), ""), report.Summary(summarize(mem(row.rs, pssOf)), ""),
				report.Summary(summarize(bareMem(bares[b], rssOf)), ""), report.Summary(summarize(bareMem(bares[b], pssOf)), "")})
		}
	}
	timing.notes = []string{
		"create → ACTIVE: from sending POST /v1/datastores to the first GET (polled every 25 ms) that reports ACTIVE; one cluster at a time, deleted before the next.",
		"Bare starts: PostgreSQL `initdb` (dbaasd's template options) + `pg_ctl start -w`; MariaDB `mariadb-install-db` (dbaasd's template options) + `mariadbd` until root's ping answers (both MySQL flavours are compared with it); Redis `redis-server` until PING; Kafka `dbaasd kafka-broker` on a minimal configuration until the SCRAM superuser gets a metadata answer. All run as the engines' OS user.",
		"Clusters include what dbaasd adds to a server: PgBouncer for PostgreSQL, Sentinels and a firewall forwarder for Redis, replicas for 3 nodes.",
		"CPU of the create: user + system time from POST to ACTIVE of dbaasd (with the commands it ran: pg_ctl, initdb, useradd…) and of every process of the cluster (with the children each reaped). Unlike the wall-clock times it does not depend on how busy the machine is: on a machine whose cores are all taken, a create cannot finish faster than its share of CPU allows, and 3 nodes against 1 tend to this ratio.",
	}
	memory.notes = []string{
		"Measured 1 s after the cluster became ACTIVE (or the bare server answered). RSS counts shared pages once per process, so it overstates a PostgreSQL server (its shared buffers appear in every backend); PSS splits shared pages among the processes that share them.",
	}
	res.addDetail("provision", timing)
	res.addDetail("footprint", memory)
}

// medianRatio is median(a)/median(b), NaN when either has no values.
func medianRatio(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN()
	}
	return summarize(a).Median / summarize(b).Median
}
