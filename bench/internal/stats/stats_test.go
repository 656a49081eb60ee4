package stats

import (
	"math"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	// 1 ms … 100 ms: the p-th percentile is p ms.
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	SortDurations(d)
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{0, 1 * time.Millisecond},
		{1, 1 * time.Millisecond},
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.9, 100 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{150, 100 * time.Millisecond},
	} {
		if got := Percentile(d, tc.p); got != tc.want {
			t.Errorf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestPercentileSmallSamples(t *testing.T) {
	t.Parallel()
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: got %v, want 0", got)
	}
	one := []time.Duration{7}
	if got := Percentile(one, 99); got != 7 {
		t.Errorf("one value: got %v, want 7", got)
	}
	// Nearest rank never interpolates: p50 of {1,2,3,4} is 2, p51 is 3.
	four := []time.Duration{1, 2, 3, 4}
	if got := Percentile(four, 50); got != 2 {
		t.Errorf("p50 of four: got %v, want 2", got)
	}
	if got := Percentile(four, 51); got != 3 {
		t.Errorf("p51 of four: got %v, want 3", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{3}, Summary{N: 1, Median: 3, Min: 3, Max: 3}},
		{"odd", []float64{5, 1, 3}, Summary{N: 3, Median: 3, Min: 1, Max: 5}},
		{"even", []float64{4, 1, 3, 2}, Summary{N: 4, Median: 2.5, Min: 1, Max: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := Summarize(in); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("Summarize modified its input: %v", in)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	if got := Ratio(1, 4); got != 0.25 {
		t.Errorf("Ratio(1,4) = %v", got)
	}
	if got := Ratio(1, 0); !math.IsNaN(got) {
		t.Errorf("Ratio(1,0) = %v, want NaN", got)
	}
}
