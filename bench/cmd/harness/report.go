package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/sysinfo"
)

// reportSections are the report's sections in order, with their titles.
var reportSections = []struct{ id, title string }{
	{"api", "1. API read path"},
	{"mock", "2. API against a mock"},
	{"write", "3. Write path"},
	{"provision", "4. Provisioning"},
	{"footprint", "5. Footprint"},
	{"scale", "6. Scale"},
	{"failover", "7. Failover"},
	{"console", "8. Web console"},
}

// writeReport renders the results as Markdown.
func writeReport(cfg config, m sysinfo.Info, loadEnd string, took time.Duration, res *results) string {
	var d report.Doc
	d.H1("dbaasd benchmarks")
	mode := "full"
	if cfg.quick {
		mode = "quick (CI: one short run per figure, smaller counts; the numbers are indicative only)"
	}
	d.Para("Run %s, mode %s, in %s. Each figure is the **median of %d run(s)** with the min–max range in parentheses; "+
		"the ratio is the median over its baseline's median, both measured in this run (runs interleaved). "+
		"Load: %d connections closed-loop, %s req/s open-loop, %s recorded per run after %s of warm-up. "+
		"Reproduce with `make bench` (see bench/README.md).",
		m.Date.UTC().Format("2006-01-02 15:04 MST"), mode, took.Round(time.Second), cfg.runs, cfg.conns,
		report.Num(cfg.rate), cfg.duration, cfg.warmup)

	d.H2("Machine")
	d.Table([]string{"", ""}, [][]string{
		{"CPU", fmt.Sprintf("%d cores, %s", m.Cores, m.CPUModel)},
		{"RAM", fmt.Sprintf("%.1f GiB", float64(m.MemTotal)/(1<<30))},
		{"kernel", m.Kernel},
		{"OS", m.OS},
		{"Go", m.GoVersion},
		{"dbaasd commit", orDash(m.Commit)},
		{"load average (1, 5, 15 min) at start / end", m.LoadAvg + " / " + loadEnd},
	})
	if m.Cores <= 2 {
		d.Para("On this small machine the load generator, the server under test and the engines share %d cores; "+
			"other work on the machine (see the load average) lowers and scatters the numbers.", m.Cores)
	}

	d.H2("Summary")
	var rows [][]string
	for i, f := range res.figures {
		target := "—"
		if f.target != nil {
			target = f.target.describe()
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), f.name, report.Summary(f.summary(), f.unit), orDash(f.baseName),
			report.Summary(f.baseSummary(), f.baseUnitOr()), report.Ratio(f.ratio()), target, f.verdict()})
	}
	d.Table([]string{"#", "figure", "dbaasd", "baseline", "baseline value", "ratio", "target", "verdict"}, rows)

	var missed []string
	for i, f := range res.figures {
		if f.target == nil {
			continue
		}
		if v := f.verdict(); v != "met" {
			missed = append(missed, fmt.Sprintf("#%d %s — %s (target %s)", i+1, f.name, strings.TrimPrefix(v, "**missed**: "), f.target.describe()))
		}
	}
	d.H3("Targets missed")
	if len(missed) == 0 {
		d.Para("None: every figure with a target met it.")
	} else {
		d.Bullets(missed...)
	}
	var errs []string
	for _, s := range reportSections {
		for _, err := range res.errs[s.id] {
			errs = append(errs, fmt.Sprintf("%s: %v", s.title, err))
		}
	}
	if len(errs) > 0 {
		d.H3("Errors")
		d.Bullets(errs...)
	}

	for _, s := range reportSections {
		if len(res.details[s.id]) == 0 && len(res.notes[s.id]) == 0 {
			continue
		}
		d.H2(s.title)
		d.Bullets(res.notes[s.id]...)
		for _, t := range res.details[s.id] {
			d.H3(t.title)
			d.Table(t.header, t.rows)
			d.Bullets(t.notes...)
		}
	}
	return d.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
