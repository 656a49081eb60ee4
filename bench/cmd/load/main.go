// Command load is the benchmark's HTTP load generator, run by the harness
// as a process of its own so that it does not share a Go runtime with the
// server it measures. It prints one JSON object (loadgen.Result).
//
//	load -url URL [-c 32] [-d 10s] [-warmup 1s] [-rate 0] [-method GET]
//	     [-H 'Name: value']... [-body JSON] [-expect 200]
//
// With -rate 0 it keeps -c requests in flight (closed loop); with a
// positive -rate it sends that many requests per second over -c
// connections (open loop) and measures latency from when each was due.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/loadgen"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var (
		cfg  loadgen.Config
		hdrs headers
		body string
	)
	flag.StringVar(&cfg.URL, "url", "", "URL to request")
	flag.StringVar(&cfg.Method, "method", http.MethodGet, "HTTP method")
	flag.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	flag.StringVar(&body, "body", "", "request body")
	flag.IntVar(&cfg.Concurrency, "c", 32, "connections (and workers)")
	flag.DurationVar(&cfg.Duration, "d", 10*time.Second, "how long requests are recorded")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded load before -d")
	flag.Float64Var(&cfg.Rate, "rate", 0, "requests per second (0 = closed loop)")
	flag.IntVar(&cfg.ExpectStatus, "expect", 0, "status that counts as success (0 = any 2xx)")
	flag.Parse()
	cfg.Header = http.Header{}
	for _, h := range hdrs {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			fail(fmt.Errorf("-H %q: want 'Name: value'", h))
		}
		cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if body != "" {
		cfg.Body = []byte(body)
		if cfg.Header.Get("Content-Type") == "" {
			cfg.Header.Set("Content-Type", "application/json")
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}
