package main

import (
	"fmt"
	"math"
	"sync"

	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/stats"
)

// figure is one number of the report: the values of several runs, the
// values of its baseline measured in the same runs, and a target.
type figure struct {
	section  string
	name     string
	unit     string
	values   []float64
	baseName string
	base     []float64
	baseUnit string // "" = unit
	target   target // nil: no target
	// unmeasured, when set, says why the figure could not be measured in
	// some runs (a missed target when it has one).
	unmeasured string
}

func (f *figure) summary() stats.Summary     { return stats.Summarize(f.values) }
func (f *figure) baseSummary() stats.Summary { return stats.Summarize(f.base) }

// baseUnitOr is the unit of the baseline's values.
func (f *figure) baseUnitOr() string {
	if f.baseUnit != "" {
		return f.baseUnit
	}
	return f.unit
}

// ratio is the median over the baseline's median (NaN without baseline).
func (f *figure) ratio() float64 {
	if len(f.base) == 0 || len(f.values) == 0 {
		return math.NaN()
	}
	return stats.Ratio(f.summary().Median, f.baseSummary().Median)
}

// verdict says whether the target is met, and by how much it is missed.
func (f *figure) verdict() string {
	if f.target == nil {
		return "—"
	}
	if len(f.values) == 0 {
		if f.unmeasured != "" {
			return "**missed**: " + f.unmeasured
		}
		return "not measured"
	}
	met, detail := f.target.check(f)
	switch {
	case f.unmeasured != "" && met:
		return "**missed**: met in the runs measured, but " + f.unmeasured
	case f.unmeasured != "":
		return fmt.Sprintf("**missed**: %s in the %d run(s) measured; %s", detail, len(f.values), f.unmeasured)
	case met:
		return "met"
	}
	return "**missed**: " + detail
}

// target is a goal a figure is judged against.
type target interface {
	describe() string
	check(f *figure) (met bool, missedBy string)
}

// ratioAtLeast wants median/baseline ≥ min (throughput against a baseline).
type ratioAtLeast struct{ min float64 }

func (t ratioAtLeast) describe() string { return "≥ " + report.Ratio(t.min) + " baseline" }
func (t ratioAtLeast) check(f *figure) (bool, string) {
	r := f.ratio()
	if math.IsNaN(r) {
		return false, "no baseline"
	}
	return r >= t.min, fmt.Sprintf("%s, %.0f %% short of %s", report.Ratio(r), (t.min-r)/t.min*100, report.Ratio(t.min))
}

// ratioAtMost wants median/baseline ≤ max (times against a baseline).
type ratioAtMost struct{ max float64 }

func (t ratioAtMost) describe() string { return "≤ " + report.Ratio(t.max) + " baseline" }
func (t ratioAtMost) check(f *figure) (bool, string) {
	r := f.ratio()
	if math.IsNaN(r) {
		return false, "no baseline"
	}
	return r <= t.max, fmt.Sprintf("%s, %.0f %% over %s", report.Ratio(r), (r-t.max)/t.max*100, report.Ratio(t.max))
}

// ratioAbove wants median/baseline > min (faster than a mock).
type ratioAbove struct{ min float64 }

func (t ratioAbove) describe() string { return "> " + report.Ratio(t.min) + " baseline" }
func (t ratioAbove) check(f *figure) (bool, string) {
	r := f.ratio()
	if math.IsNaN(r) {
		return false, "no baseline"
	}
	return r > t.min, fmt.Sprintf("%s, %.0f %% slower", report.Ratio(r), (1-r/t.min)*100)
}

// below wants the median under a limit (latency).
type below struct {
	limit float64
	unit  string
}

func (t below) describe() string { return "< " + report.Num(t.limit) + " " + t.unit }
func (t below) check(f *figure) (bool, string) {
	m := f.summary().Median
	return m < t.limit, fmt.Sprintf("%s %s, %s %s (%.0f %%) over", report.Num(m), t.unit, report.Num(m-t.limit), t.unit, (m-t.limit)/t.limit*100)
}

// detail is a table of a section beside the summary.
type detail struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

// results gathers what the sections measured.
type results struct {
	mu      sync.Mutex
	figures []*figure
	details map[string][]*detail
	notes   map[string][]string
	errs    map[string][]error
}

func newResults() *results {
	return &results{details: map[string][]*detail{}, notes: map[string][]string{}, errs: map[string][]error{}}
}

// add records a figure (in report order).
func (r *results) add(f *figure) *figure {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, f)
	return f
}

// addDetail records a detail table of a section.
func (r *results) addDetail(section string, d *detail) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.details[section] = append(r.details[section], d)
}

// note records a remark of a section.
func (r *results) note(section, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes[section] = append(r.notes[section], fmt.Sprintf(format, args...))
}

// fail records an error of a section (the run goes on).
func (r *results) fail(section string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[section] = append(r.errs[section], err)
}

// failed reports whether any section recorded an error.
func (r *results) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		if len(e) > 0 {
			return true
		}
	}
	return false
}
