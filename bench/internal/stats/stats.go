// Package stats computes the few statistics the benchmark report uses:
// latency percentiles from recorded durations and the median, minimum and
// maximum of repeated runs.
package stats

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of durations sorted
// in ascending order, by the nearest-rank method: the smallest recorded
// value such that at least p % of the values are less than or equal to it.
// It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank > n {
		rank = n
	}
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// SortDurations sorts durations in place, ascending.
func SortDurations(d []time.Duration) { slices.Sort(d) }

// Summary describes the results of repeated runs of one measurement.
type Summary struct {
	N      int
	Median float64
	Min    float64
	Max    float64
}

// Summarize returns the median, minimum and maximum of values (which it
// does not modify). The median of an even number of values is the mean of
// the two middle ones. The zero Summary describes no values.
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{N: n, Median: med, Min: s[0], Max: s[n-1]}
}

// Ratio returns a/b, or NaN when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
