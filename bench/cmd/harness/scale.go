package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/report"
)

// flatRatio is how much slower the last creates may be than the first
// ones for create time to count as flat.
const flatRatio = 1.2

// idleCPUTarget is the most CPU (% of one core) an idle dbaasd may use with
// the scale section's live clusters.
const idleCPUTarget = 5

// runScale is section 6: PostgreSQL 1-node clusters created back to back
// (each waited for until ACTIVE) until the chosen count, to see whether
// create time grows with the number of clusters; and dbaasd's footprint
// with that many live clusters.
func runScale(ctx context.Context, e *env, res *results) error {
	const sec = "scale"
	args, pprofURL, err := e.pprofArgs()
	if err != nil {
		return err
	}
	cs, err := startClusterServer(ctx, e, "s", args...)
	if err != nil {
		return err
	}
	defer cs.stop(e)
	srv, cl, types := cs.srv, cs.cl, cs.types
	typeID := types["postgresql"]
	if typeID == "" {
		return fmt.Errorf("postgresql is not in dbaasd's catalog")
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	pid := srv.Proc.PID()
	rssBefore := sampleRSS(ctx, pid)
	var cpuBefore, machineBefore []float64
	machineBefore = machineCPU(func() { cpuBefore = idleCPU(ctx, e, pid) })

	n := e.cfg.scaleN
	var times []float64
	var ids []string
	for i := 1; i <= n; i++ {
		t := time.Now()
		id, err := cl.CreateDatastore(ctx, typeID, "postgresql", fmt.Sprintf("bench-scale-%03d", i), 1)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		if err := cl.WaitStatus(ctx, id, "ACTIVE", createPoll, 10*time.Minute); err != nil {
			return fmt.Errorf("cluster %d of %d: %w", i, n, err)
		}
		times = append(times, time.Since(t).Seconds())
		e.logf("scale %3d/%d %6.2f s to ACTIVE", i, n, times[i-1])
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	lastCreate := time.Now()
	cpuCreated := idleCPU(ctx, e, pid)
	// Idle means nothing left to do: every new cluster's first base
	// backup (which dbaasd schedules at once) is done.
	if err := waitFirstBackups(ctx, cl, ids, 10*time.Minute); err != nil {
		return err
	}
	backupsDone := time.Since(lastCreate)
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	rssAfter, cpuAfter := sampleRSS(ctx, pid), idleCPU(ctx, e, pid)
	var cpuMinute, machineMinute []float64
	minute := func() {
		machineMinute = machineCPU(func() { cpuMinute = idleCPUOver(ctx, pid, e.longIdle()) })
	}
	var profiles []string
	if pprofURL == "" {
		minute()
	} else {
		what := fmt.Sprintf("%d live PostgreSQL 1-node clusters, default --probe-interval and --metrics-interval", n)
		profiles, err = profileLive(ctx, e, pprofURL, fmt.Sprintf("idle-%dpg", n), what, e.longIdle(), minute)
		if err != nil {
			res.fail(sec, fmt.Errorf("profiles: %w", err))
		}
	}
	// Measure the API read of the list with n live clusters once, too.
	t := time.Now()
	if _, err := cl.Get(ctx, "/v1/datastores"); err != nil {
		return err
	}
	listTime := time.Since(t)

	t = time.Now()
	for _, id := range ids {
		if err := cl.RequestDelete(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if err := cl.WaitDeleted(ctx, id, 10*time.Minute); err != nil {
			return err
		}
	}
	deleteAllTime := time.Since(t)

	k := min(10, n/2)
	if k < 1 {
		k = 1
	}
	first, last := times[:k], times[len(times)-k:]
	res.add(&figure{section: "scale", name: fmt.Sprintf("postgresql 1 node, create → ACTIVE: last %d of %d clusters", k, n),
		unit: "s", values: last, baseName: fmt.Sprintf("first %d of %d clusters", k, n), base: first,
		target: ratioAtMost{flatRatio}})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd CPU while idle, %d live PostgreSQL clusters", n),
		unit: "% of a core", values: cpuAfter, baseName: "the same dbaasd before the clusters", base: cpuBefore,
		target: below{idleCPUTarget, "% of a core"}})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd CPU while idle, %d live PostgreSQL clusters, over %s", n, e.longIdle()),
		unit: "% of a core", values: cpuMinute, baseName: "the same dbaasd before the clusters", base: cpuBefore,
		target: below{idleCPUTarget, "% of a core"}})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("machine CPU (every process) while idle, %d live PostgreSQL clusters, over %s", n, e.longIdle()),
		unit: "% of a core", values: machineMinute, baseName: "the same machine before the clusters", base: machineBefore})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd CPU right after the last of %d PostgreSQL creates (first backups running)", n),
		unit: "% of a core", values: cpuCreated, baseName: "the same dbaasd before the clusters", base: cpuBefore})
	res.add(&figure{section: "footprint", name: fmt.Sprintf("dbaasd RSS, %d live PostgreSQL clusters", n),
		unit: "MiB", values: rssAfter, baseName: "the same dbaasd before the clusters", base: rssBefore})

	d := &detail{title: fmt.Sprintf("Scale: %d PostgreSQL 1-node clusters created back to back", n),
		header: []string{"clusters", "create → ACTIVE, median (min–max) (s)"}}
	for lo := 0; lo < n; lo += k {
		hi := min(lo+k, n)
		d.rows = append(d.rows, []string{strconv.Itoa(lo+1) + "–" + strconv.Itoa(hi), report.Summary(summarize(times[lo:hi]), "")})
	}
	d.notes = append(d.notes,
		fmt.Sprintf("Flat means the median of the last %d creates is at most %s the median of the first %d (the threshold is the harness's choice).", k, report.Ratio(flatRatio), k),
		"Each create competes for the machine with the first base backups of the clusters made just before it (the scheduler asks for them at its next tick, every 2 s; at most --max-backups run at once) and with the idle work of the clusters already live (the machine CPU figure: every process, their servers included).",
		fmt.Sprintf("CPU of the idle dbaasd: %d windows of 3 s, then one of %s, from 1 s after every cluster's first base backup was done (%s s after the last create; dbaasd backs a new datastore up at once); the baseline is the same dbaasd before its first create. The CPU right after the last create (%d windows of 3 s from 1 s after it) is reported beside, without a target: it holds the last clusters' first backups and the archiving of the WAL they wrote.",
			e.cfg.runs, e.longIdle(), report.Num(backupsDone.Seconds()), e.cfg.runs),
		fmt.Sprintf("With %d live clusters: GET /v1/datastores took %s ms once; deleting all of them (all DELETEs sent, then each awaited) took %s s.",
			n, report.Num(float64(listTime.Microseconds())/1000), report.Num(deleteAllTime.Seconds())),
		"Every create: "+joinSecs(times)+" (s).")
	if len(profiles) > 0 {
		d.notes = append(d.notes, fmt.Sprintf("Profiles of the idle dbaasd with %d live clusters, over the %s CPU window above, then its heap (text summaries of `go tool pprof -top`): %s.",
			n, e.longIdle(), strings.Join(profiles, ", ")))
	}
	res.addDetail(sec, d)
	return nil
}

func joinSecs(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ", "
		}
		s += report.Num(x)
	}
	return s
}

// waitFirstBackups waits until every datastore of ids has a complete backup
// (allow_restore).
func waitFirstBackups(ctx context.Context, cl *dbaasd.Client, ids []string, timeout time.Duration) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		body, err := cl.Get(ctx, "/v1/datastores")
		if err != nil {
			return err
		}
		var list struct {
			Datastores []struct {
				ID           string `json:"id"`
				AllowRestore bool   `json:"allow_restore"`
			} `json:"datastores"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return fmt.Errorf("list datastores: %w", err)
		}
		missing := 0
		for _, d := range list.Datastores {
			if want[d.ID] && !d.AllowRestore {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d datastores still without a backup after %s", missing, len(ids), timeout)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}
