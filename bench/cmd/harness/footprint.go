package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/procs"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/rss"
	"github.com/dbaasd/dbaasd/bench/internal/stats"
)

func summarize(v []float64) stats.Summary { return stats.Summarize(v) }

// footprint is what the read section measures of dbaasd itself.
type footprint struct {
	startFresh, startEmpty, startFull time.Duration
	seedTime                          time.Duration
	clusters                          int
	rssEmpty, rssFull, rssAfter       []float64 // MiB, several samples
	rssEmptyLater                     []float64 // MiB, after the idle CPU windows
	rssBare                           []float64
	cpuEmpty, cpuFull, cpuFullLong    []float64     // % of one core
	longIdle                          time.Duration // window of cpuFullLong
	idleFor                           time.Duration // between the two RSS readings of the empty store
}

// sampleRSS reads a process's RSS (MiB) five times, 200 ms apart.
func sampleRSS(ctx context.Context, pid int) []float64 {
	var out []float64
	for i := 0; i < 5; i++ {
		if u, err := rss.Of(pid); err == nil {
			out = append(out, rss.MiB(u.RSS))
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			break
		}
	}
	return out
}

// idleCPU measures a process's CPU use (% of one core) over consecutive
// windows of 3 s (dbaasd's default probe interval; 1 s in quick mode), one
// per run.
func idleCPU(ctx context.Context, e *env, pid int) []float64 {
	window := 3 * time.Second
	if e.cfg.quick {
		window = time.Second
	}
	var out []float64
	for i := 0; i < e.cfg.runs; i++ {
		c0, err := rss.CPUSeconds(pid)
		if err != nil {
			return out
		}
		t := time.Now()
		if sleep(ctx, window) != nil {
			return out
		}
		c1, err := rss.CPUSeconds(pid)
		if err != nil {
			return out
		}
		out = append(out, (c1-c0)/time.Since(t).Seconds()*100)
	}
	return out
}

// machineCPU runs measure and reports the machine's CPU use (% of one
// core, every process and every core) over the time it took.
func machineCPU(measure func()) []float64 {
	m0, err := rss.MachineBusySeconds()
	t := time.Now()
	measure()
	m1, err1 := rss.MachineBusySeconds()
	if err != nil || err1 != nil {
		return nil
	}
	return []float64{(m1 - m0) / time.Since(t).Seconds() * 100}
}

// idleCPUOver measures a process's CPU use (% of one core) averaged over
// one window of d.
func idleCPUOver(ctx context.Context, pid int, d time.Duration) []float64 {
	c0, err := rss.CPUSeconds(pid)
	if err != nil {
		return nil
	}
	t := time.Now()
	if sleep(ctx, d) != nil {
		return nil
	}
	c1, err := rss.CPUSeconds(pid)
	if err != nil {
		return nil
	}
	return []float64{(c1 - c0) / time.Since(t).Seconds() * 100}
}

// longIdle is the window of the idle CPU figure that spans the periodic
// work of a whole minute (a datastore in ERROR is looked at again every
// minute, by default).
func (e *env) longIdle() time.Duration {
	if e.cfg.quick {
		return 10 * time.Second
	}
	return time.Minute
}

// figures records the dbaasd footprint figures and their detail table.
func (fp *footprint) figures(e *env, res *results) {
	n := fmt.Sprintf("%d", fp.clusters)
	// Targets (issue 14): under 64 MiB idle with an empty store, and
	// steady (no more than 5 % up once idle a while longer); idle CPU
	// with 10,000 clusters stored under 2 % of a core.
	res.add(&figure{section: "footprint", name: "dbaasd RSS, idle, empty store", unit: "MiB", values: fp.rssEmpty,
		baseName: "bare net/http handler (idle)", base: fp.rssBare, target: below{64, "MiB"}})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd RSS, idle, empty store, %s later (steady)", fp.idleFor.Round(time.Second)),
		unit: "MiB", values: fp.rssEmptyLater, baseName: "the same, at first", base: fp.rssEmpty, target: ratioAtMost{1.05}})
	res.add(&figure{section: "footprint", name: "dbaasd RSS, " + n + " clusters stored, after list requests", unit: "MiB",
		values: fp.rssFull, baseName: "dbaasd RSS, empty store", base: fp.rssEmpty})
	res.add(&figure{section: "footprint", name: "dbaasd CPU while idle, " + n + " clusters stored", unit: "% of a core",
		values: fp.cpuFull, baseName: "dbaasd CPU while idle, empty store", base: fp.cpuEmpty, target: below{2, "% of a core"}})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd CPU while idle, %s clusters stored, over %s", n, fp.longIdle),
		unit: "% of a core", values: fp.cpuFullLong, baseName: "dbaasd CPU while idle, empty store", base: fp.cpuEmpty,
		target: below{2, "% of a core"}})
	res.addDetail("footprint", &detail{
		title:  "dbaasd process",
		header: []string{"measure", "value"},
		rows: [][]string{
			{"first start on a new data dir (prepares engine templates, catalog)", report.Num(fp.startFresh.Seconds()) + " s"},
			{"start, empty store", report.Num(fp.startEmpty.Seconds()) + " s"},
			{"start, " + n + " clusters stored", report.Num(fp.startFull.Seconds()) + " s"},
			{"seeding " + n + " clusters directly into the store (one transaction per project)", fmt.Sprintf("%s s (%s clusters/s)", report.Num(fp.seedTime.Seconds()), report.Num(float64(fp.clusters)/fp.seedTime.Seconds()))},
			{"RSS, idle, empty store", report.Summary(summarize(fp.rssEmpty), "MiB")},
			{"RSS, idle, empty store, " + fp.idleFor.Round(time.Second).String() + " later", report.Summary(summarize(fp.rssEmptyLater), "MiB")},
			{"RSS, " + n + " clusters, after list requests", report.Summary(summarize(fp.rssFull), "MiB")},
			{"RSS, " + n + " clusters, after the read benchmarks", report.Summary(summarize(fp.rssAfter), "MiB")},
			{"CPU while idle, empty store", report.Summary(summarize(fp.cpuEmpty), "% of a core")},
			{"CPU while idle, " + n + " clusters stored", report.Summary(summarize(fp.cpuFull), "% of a core")},
			{"CPU while idle, " + n + " clusters stored, over " + fp.longIdle.String(), report.Summary(summarize(fp.cpuFullLong), "% of a core")},
			{"bare handler RSS, idle", report.Summary(summarize(fp.rssBare), "MiB")},
		},
		notes: []string{
			"RSS samples: 5, 200 ms apart. CPU: user + system time over 3 s windows (dbaasd's default probe interval; 1 s in quick mode), one per run, the first a few seconds after dbaasd started; then over one window of a minute (10 s in quick mode), which spans the periodic work every stored datastore costs (a datastore in ERROR is looked at again every minute).",
			"dbaasd's RSS includes memory Go has freed but not yet returned to the system (start-up parses the OpenAPI document and the engines' catalogs), which is why it falls later on.",
			"Idle CPU with many stored clusters is the work of dbaasd's periodic loops over every datastore (prober, telemetry sampling, backup scheduler), which run whatever the datastores' state. The seeded clusters are recorded as ERROR (see bench/README.md), with no failed action and no servers: after a few queries over all of them when dbaasd starts, the prober looks for their directories every 10 minutes and the backup scheduler for their archives every minute; between those looks they cost nothing.",
		},
	})
}

// clusterUsage is the memory of the processes of one cluster: every
// process whose command line, working directory or open files are under
// the cluster's directory, or whose pid file is there, with descendants;
// dbaasd itself (pid) is left out.
func clusterUsage(dataDir, datastoreID string, dbaasdPID int) rss.Usage {
	dir := filepath.Join(dataDir, "clusters", datastoreID)
	return rss.Sum(procs.Under(dir, map[int]bool{dbaasdPID: true}))
}

// treeUsage is the memory of a process and its descendants.
func treeUsage(pid int) rss.Usage {
	return rss.Sum(procs.Tree(pid))
}
