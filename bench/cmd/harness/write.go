package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/barestart"
	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/loadgen"
	"github.com/dbaasd/dbaasd/bench/internal/rawsql"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/bench/internal/seed"
)

// tokenBody is the create request of the write benchmark.
const tokenBody = `{"prometheus-metrics-token":{"name":"bench"}}`

// writeTarget is one store the write benchmark runs on.
type writeTarget struct {
	name   string // "SQLite", "PostgreSQL"
	url    string // dbaasd's base URL
	raw    *sql.DB
	ph     string            // placeholder style of raw
	api    []*loadgen.Result // one per run, each on a project of its own
	rawRes []*rawsql.Result
	// again is one more run on the first run's project, which then holds
	// before tokens already.
	again  *loadgen.Result
	before int64
}

// runWrite is section 3: creates per second of Prometheus metrics tokens
// through the API, on SQLite and on PostgreSQL, against raw inserts of the
// same rows into the same database engine. Each run creates in a project of
// its own (so that runs start alike); one more run on the first run's
// project shows how creates slow down as a project's tokens accumulate.
func runWrite(ctx context.Context, e *env, res *results) error {
	quota := []string{"prometheus_metrics_tokens=1000000"}
	var tokens, tokenFlags []string
	for i := 0; i < e.cfg.runs; i++ {
		t := fmt.Sprintf("bench-writer-token-%d", i)
		tokens = append(tokens, t)
		tokenFlags = append(tokenFlags, t+"="+seed.ProjectID("write", i))
	}

	// SQLite: dbaasd's default store, and a raw file opened alike.
	lite, err := e.startDbaasd(ctx, "write-sqlite", dbaasd.Options{Tokens: tokenFlags, Quotas: quota})
	if err != nil {
		return err
	}
	defer lite.Stop()
	rawLite, err := rawsql.OpenSQLite(filepath.Join(e.root, "write-raw.db"))
	if err != nil {
		return err
	}
	defer func() { _ = rawLite.Close() }()
	targets := []*writeTarget{{name: "SQLite", url: lite.URL, raw: rawLite, ph: "?"}}

	// PostgreSQL: one server for dbaasd's store and the raw baseline.
	pgURL, rawPG, err := startStorePostgres(ctx, e)
	if err != nil {
		res.note("write", "PostgreSQL store not measured: %v", err)
		e.logf("write: postgres: %v", err)
	} else {
		defer func() { _ = rawPG.Close() }()
		pg, err := e.startDbaasd(ctx, "write-postgres", dbaasd.Options{Store: pgURL, Tokens: tokenFlags, Quotas: quota})
		if err != nil {
			return err
		}
		defer pg.Stop()
		targets = append(targets, &writeTarget{name: "PostgreSQL", url: pg.URL, raw: rawPG, ph: "$"})
	}
	for _, t := range targets {
		if err := rawsql.Prepare(ctx, t.raw); err != nil {
			return err
		}
	}

	create := func(t *writeTarget, token string) (*loadgen.Result, error) {
		return e.runLoad(ctx, loadSpec{url: t.url + "/v1/prometheus-metrics-tokens", method: "POST",
			header: []string{"X-Auth-Token: " + token}, body: tokenBody, conns: e.cfg.conns, expect: 201})
	}
	for run := 1; run <= e.cfg.runs; run++ {
		for _, t := range targets {
			r, err := create(t, tokens[run-1])
			if err != nil {
				return err
			}
			t.api = append(t.api, r)
			e.logf("run %d/%d %-10s API  %7.0f creates/s  p50 %6.2f ms  p99 %7.2f ms  errors %d (%s)", run, e.cfg.runs,
				t.name, r.Throughput, r.P50, r.P99, r.Errors, r.FirstError)
			rr, err := rawsql.Run(ctx, t.raw, t.ph, e.cfg.conns, e.cfg.warmup, e.cfg.duration)
			if err != nil {
				return err
			}
			t.rawRes = append(t.rawRes, rr)
			e.logf("run %d/%d %-10s raw  %7.0f inserts/s  errors %d", run, e.cfg.runs, t.name, rr.PerSecond, rr.Errors)
		}
	}
	for _, t := range targets {
		n, err := dbaasd.NewClient(t.url, tokens[0]).InUse(ctx, "prometheus_metrics_tokens")
		if err != nil {
			return err
		}
		if t.again, err = create(t, tokens[0]); err != nil {
			return err
		}
		t.before = n
		e.logf("again      %-10s API  %7.0f creates/s with %d tokens in the project", t.name, t.again.Throughput, n)
	}

	d := &detail{title: "Write path: POST /v1/prometheus-metrics-tokens", header: []string{"store", "creates/s (API)",
		"p50 (ms)", "p99 (ms)", "errors (API)", "creates/s, project already holding tokens", "raw inserts/s", "errors (raw)"}}
	for _, t := range targets {
		var apiTP, rawTP, lat50, lat99 []float64
		apiErr, apiReq, rawErr := 0, 0, 0
		for _, r := range t.api {
			apiTP, lat50, lat99 = append(apiTP, r.Throughput), append(lat50, r.P50), append(lat99, r.P99)
			apiErr += r.Errors
			apiReq += r.Requests
		}
		for _, r := range t.rawRes {
			rawTP = append(rawTP, r.PerSecond)
			rawErr += r.Errors
		}
		// Target (issue 14): on the SQLite store, at least 0.3× raw inserts.
		var tgt target
		if t.name == "SQLite" {
			tgt = ratioAtLeast{0.3}
		}
		res.add(&figure{section: "write", name: "creates/s, " + t.name + " store, " + strconv.Itoa(e.cfg.conns) + " connections",
			unit: "creates/s", values: apiTP, baseName: "raw insert transactions into " + t.name, base: rawTP, baseUnit: "inserts/s",
			target: tgt})
		d.rows = append(d.rows, []string{t.name, report.Summary(summarize(apiTP), ""), report.Summary(summarize(lat50), ""),
			report.Summary(summarize(lat99), ""), fmt.Sprintf("%d of %d", apiErr, apiReq),
			fmt.Sprintf("%s with %d tokens", report.Num(t.again.Throughput), t.before), report.Summary(summarize(rawTP), ""),
			strconv.Itoa(rawErr)})
	}
	d.notes = append(d.notes,
		"Baseline: the same row (id, project, name, value hash, sealed value, timestamps) inserted in a transaction of its own, by as many goroutines as the API has connections, with database/sql and the store's own connection settings (SQLite: WAL, synchronous=NORMAL, immediate transactions, 8 connections; PostgreSQL: 20 connections).",
		"PostgreSQL runs with its defaults except synchronous_commit=off, which matches SQLite's synchronous=NORMAL in WAL mode: a power loss may lose the last commits, never corrupt the store.",
		"Each API create also authenticates the token, validates the body, draws a token value, hashes (HMAC) and seals (AES-GCM) it, reads the project's token count (kept by a trigger) and quotas for the quota check and writes the row; the raw baseline only writes the row.",
		"Each run creates tokens in a project of its own, starting empty; the last column is one more run on the first run's project, which then holds that run's tokens (the quota check reads a count kept in step with the rows, so it costs the same however many tokens a project holds).")
	res.addDetail("write", d)
	return nil
}

// startStorePostgres starts a PostgreSQL server for the write benchmark
// and returns the URL of dbaasd's store database and a connection to the
// raw baseline's database.
func startStorePostgres(ctx context.Context, e *env) (string, *sql.DB, error) {
	dir, err := e.dir("store-postgres")
	if err != nil {
		return "", nil, err
	}
	s, err := barestart.Start(ctx, "postgresql", barestart.Options{Runner: e.runner, Dir: filepath.Join(dir, "pg"),
		PostgresOpts: []string{"synchronous_commit=off", "max_connections=200"}})
	if err != nil {
		return "", nil, err
	}
	e.onClose(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.Stop(sctx)
	})
	admin, err := sql.Open("pgx", barestart.PostgresURL(s))
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = admin.Close() }()
	for _, db := range []string{"dbaasd_store", "raw_baseline"} {
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+db); err != nil {
			return "", nil, fmt.Errorf("create database %s: %w", db, err)
		}
	}
	url := func(db string) string {
		return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.Dir, s.Port)
	}
	raw, err := rawsql.OpenPostgres(url("raw_baseline"))
	if err != nil {
		return "", nil, err
	}
	return url("dbaasd_store"), raw, nil
}
