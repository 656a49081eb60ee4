package main

import (
	"strings"
	"testing"
)

func TestVerdicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    figure
		want string
	}{
		{"no target", figure{values: []float64{1}}, "—"},
		{"throughput met", figure{values: []float64{60, 50, 70}, base: []float64{100}, target: ratioAtLeast{0.5}}, "met"},
		{"throughput missed", figure{values: []float64{25}, base: []float64{100}, target: ratioAtLeast{0.5}},
			"**missed**: 0.25×, 50 % short of 0.50×"},
		{"time missed", figure{values: []float64{3}, base: []float64{1}, target: ratioAtMost{2}},
			"**missed**: 3.00×, 50 % over 2.00×"},
		{"latency missed", figure{values: []float64{15}, target: below{10, "ms"}},
			"**missed**: 15.0 ms, 5.00 ms (50 %) over"},
		{"latency met", figure{values: []float64{9}, target: below{10, "ms"}}, "met"},
		{"faster than mock", figure{values: []float64{2}, base: []float64{1}, target: ratioAbove{1}}, "met"},
		{"slower than mock", figure{values: []float64{1}, base: []float64{4}, target: ratioAbove{1}},
			"**missed**: 0.25×, 75 % slower"},
		{"not measured", figure{target: below{10, "ms"}}, "not measured"},
		{"unmeasurable", figure{target: below{10, "ms"}, unmeasured: "saturated"}, "**missed**: saturated"},
		{"partly measured, met", figure{values: []float64{5}, target: below{10, "ms"}, unmeasured: "saturated twice"},
			"**missed**: met in the runs measured, but saturated twice"},
		{"partly measured, missed", figure{values: []float64{15}, target: below{10, "ms"}, unmeasured: "saturated twice"},
			"**missed**: 15.0 ms, 5.00 ms (50 %) over in the 1 run(s) measured; saturated twice"},
		{"no baseline", figure{values: []float64{1}, target: ratioAtMost{1}}, "**missed**: no baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.verdict(); got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReportListsMissedTargets(t *testing.T) {
	t.Parallel()
	res := newResults()
	res.add(&figure{section: "api", name: "fast enough", unit: "req/s", values: []float64{80}, base: []float64{100}, target: ratioAtLeast{0.5}})
	res.add(&figure{section: "api", name: "too slow", unit: "req/s", values: []float64{10}, base: []float64{100}, target: ratioAtLeast{0.5}})
	doc := writeReport(config{runs: 1, conns: 32, rate: 1000}, sysinfoForTest(), "0 0 0", 0, res)
	missed := doc[strings.Index(doc, "### Targets missed"):]
	if !strings.Contains(missed, "#2 too slow — 0.10×, 80 % short of 0.50×") || strings.Contains(missed, "fast enough") {
		t.Errorf("targets missed section is wrong:\n%s", missed)
	}
}
