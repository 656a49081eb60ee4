package report

import (
	"math"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/bench/internal/stats"
)

func TestFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{Num(1234.4), "1234"},
		{Num(12.34), "12.3"},
		{Num(1.234), "1.23"},
		{Num(math.NaN()), "—"},
		{Summary(stats.Summary{}, "ms"), "—"},
		{Summary(stats.Summary{N: 1, Median: 3, Min: 3, Max: 3}, "ms"), "3.00 ms"},
		{Summary(stats.Summary{N: 5, Median: 250, Min: 200, Max: 300}, "req/s"), "250 req/s (200–300)"},
		{Ratio(0.5), "0.50×"},
		{Ratio(math.Inf(1)), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	var d Doc
	d.Table([]string{"a", "b"}, [][]string{{"1", "x|y"}})
	want := "| a | b |\n|---|---|\n| 1 | x\\|y |\n\n"
	if d.String() != want {
		t.Errorf("got %q, want %q", d.String(), want)
	}
	if !strings.HasSuffix(d.String(), "\n\n") {
		t.Error("a table must end with a blank line")
	}
}
