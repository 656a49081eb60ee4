package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/seed"
	"github.com/dbaasd/dbaasd/internal/console/consoletest"
)

// consoleTarget is the first page's load time the console aims under (ms).
const consoleTarget = 300

// runConsole is section 8: the web console's first pages in headless
// Chromium with nothing cached — the sign-in page, and the datastore list
// of a project of 20 datastores (its API calls included) — against a page
// that needs nothing more, served by the bare handler, in the same browser
// build and the same runs.
func runConsole(ctx context.Context, e *env, res *results) error {
	const sec = "console"
	if _, err := consoletest.Chromium(); err != nil {
		return err
	}
	token, tokenFlag := bootToken()
	dataDir, err := e.dir("console")
	if err != nil {
		return err
	}
	opts := dbaasd.Options{DataDir: dataDir, Tokens: []string{tokenFlag}}
	srv, err := e.startDbaasd(ctx, "console", opts)
	if err != nil {
		return err
	}
	types, err := dbaasd.NewClient(srv.URL, token).TypeIDs(ctx)
	srv.Stop()
	if err != nil {
		return err
	}
	var seedTypes []seed.Type
	for _, eng := range engineOrder {
		if id := types[eng]; id != "" {
			seedTypes = append(seedTypes, seed.Type{ID: id, Engine: eng})
		}
	}
	const perProject = 20
	projects, err := seedStore(ctx, dataDir, seed.Spec{Projects: 1, PerProject: perProject, Types: seedTypes, Salt: "console"})
	if err != nil {
		return err
	}
	if srv, err = e.startDbaasd(ctx, "console", opts); err != nil {
		return err
	}
	defer srv.Stop()
	blank := []byte(`{"page":"blank"}`)
	bare, err := startBare(ctx, e, map[string][]byte{"/blank": blank})
	if err != nil {
		return err
	}
	defer bare.Proc.Stop(time.Second)

	var signin, list, base, bytesList, reqList []float64
	for run := 1; run <= e.cfg.runs; run++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := consoletest.PageLoad(ctx, bare.URL+"/blank", bare.URL+"/warm")
		if err != nil {
			return fmt.Errorf("baseline page: %w", err)
		}
		s, l, err := consoletest.FirstLoads(ctx, srv.URL, projects[0].Token)
		if err != nil {
			return err
		}
		e.logf("console run %d: sign-in %s; list %s; blank page %.0f ms", run, s, l, ms(b))
		base = append(base, ms(b))
		signin = append(signin, ms(s.Ready))
		list = append(list, ms(l.Ready))
		bytesList = append(bytesList, float64(l.Bytes)/1024)
		reqList = append(reqList, float64(l.Requests))
	}
	res.add(&figure{section: sec, name: "web console: first page (sign-in), nothing cached, until shown", unit: "ms",
		values: signin, baseName: "a blank page from the bare handler (load event)", base: base, target: below{consoleTarget, "ms"}})
	res.add(&figure{section: sec, name: fmt.Sprintf("web console: datastore list of %d, nothing cached, until shown with the API's answer", perProject), unit: "ms",
		values: list, baseName: "a blank page from the bare handler (load event)", base: base, target: below{consoleTarget, "ms"}})
	res.addDetail(sec, &detail{
		title:  "Web console: what the datastore list transfers",
		header: []string{"requests", "transferred (KB, compressed)"},
		rows:   [][]string{{fmt.Sprintf("%.0f", median(reqList)), fmt.Sprintf("%.1f", median(bytesList))}},
		notes: []string{
			"Measured in Debian's headless Chromium driven by chromedp (internal/console/consoletest), a fresh profile per run, the cache cleared, " +
				"after a first page of the same origin so that the renderer process is running. \"Shown\" is the console's own mark: " +
				"the page has rendered its content (for the list: after GET /v1/datastores and the catalog calls answered).",
			"The same measurement runs in the browser tests (TestFirstLoad), which only check that a first page arrives.",
		},
	})
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 { return summarize(v).Median }
