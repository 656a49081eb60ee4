// Package report writes the benchmark report as Markdown: headings,
// paragraphs, bullet lists and tables, and the number formats the report
// uses (medians with their min–max range, ratios).
package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/dbaasd/dbaasd/bench/internal/stats"
)

// Doc is a Markdown document under construction.
type Doc struct {
	b strings.Builder
}

// String returns the document.
func (d *Doc) String() string { return d.b.String() }

// H1 adds a title.
func (d *Doc) H1(s string) { fmt.Fprintf(&d.b, "# %s\n\n", s) }

// H2 adds a section heading.
func (d *Doc) H2(s string) { fmt.Fprintf(&d.b, "## %s\n\n", s) }

// H3 adds a subsection heading.
func (d *Doc) H3(s string) { fmt.Fprintf(&d.b, "### %s\n\n", s) }

// Para adds a paragraph (format and arguments as fmt.Sprintf).
func (d *Doc) Para(format string, args ...any) {
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteString("\n\n")
}

// Bullets adds a bullet list (nothing when items is empty).
func (d *Doc) Bullets(items ...string) {
	if len(items) == 0 {
		return
	}
	for _, it := range items {
		fmt.Fprintf(&d.b, "- %s\n", it)
	}
	d.b.WriteString("\n")
}

// Table adds a table. Cells may not contain newlines; pipes are escaped.
func (d *Doc) Table(header []string, rows [][]string) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	line := func(cells []string) {
		d.b.WriteString("|")
		for _, c := range cells {
			d.b.WriteString(" " + esc(c) + " |")
		}
		d.b.WriteString("\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	d.b.WriteString("|" + strings.Join(sep, "|") + "|\n")
	for _, r := range rows {
		line(r)
	}
	d.b.WriteString("\n")
}

// Num formats a number with a precision suited to its size: no decimals
// from 100 up, one from 10, two below.
func Num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Summary formats a median with its range, "12.3 (11.9–13.0)" (just the
// value for one run, "—" for none), followed by unit when given.
func Summary(s stats.Summary, unit string) string {
	if s.N == 0 {
		return "—"
	}
	u := ""
	if unit != "" {
		u = " " + unit
	}
	if s.N == 1 || s.Min == s.Max {
		return Num(s.Median) + u
	}
	return fmt.Sprintf("%s%s (%s–%s)", Num(s.Median), u, Num(s.Min), Num(s.Max))
}

// Ratio formats a ratio as "0.62×" ("—" when undefined).
func Ratio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r)
}
