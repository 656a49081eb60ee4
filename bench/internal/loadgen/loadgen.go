// Package loadgen sends HTTP requests at a fixed concurrency (closed loop:
// each worker sends its next request when the previous one is answered) or
// at a fixed rate (open loop: requests are due on a schedule whatever the
// server does) and records the latency of each.
//
// In open-loop mode the latency of a request is measured from the moment it
// was due, not from the moment a worker got to send it, so a server that
// falls behind is charged for the queue it causes (no coordinated omission).
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/bench/internal/stats"
)

// Config describes a load.
type Config struct {
	// URL is requested by every request.
	URL string
	// Method defaults to GET.
	Method string
	// Header is sent with every request.
	Header http.Header
	// Body is sent with every request (nil: none).
	Body []byte
	// Concurrency is the number of connections and workers (default 1).
	Concurrency int
	// Duration is how long requests are recorded.
	Duration time.Duration
	// Warmup is how long requests are sent, unrecorded, before Duration.
	Warmup time.Duration
	// Rate, when positive, sends that many requests per second (open loop);
	// zero keeps Concurrency requests in flight (closed loop).
	Rate float64
	// ExpectStatus is the status that counts as success (default: any 2xx).
	ExpectStatus int
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// DropAfter, in open-loop mode, is how late past the end of the load a
	// request that no worker could send yet is dropped (counted in
	// Dropped, not sent) instead of sent (default 2s), so that a server
	// that cannot keep up does not make the run last for ever.
	DropAfter time.Duration
}

// Result is what a load measured. Latencies are in milliseconds.
type Result struct {
	Mode        string         `json:"mode"` // "closed" or "open"
	Concurrency int            `json:"concurrency"`
	Rate        float64        `json:"rate,omitempty"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Dropped     int            `json:"dropped,omitempty"` // open loop: due but never sent
	FirstError  string         `json:"first_error,omitempty"`
	Seconds     float64        `json:"seconds"`
	Throughput  float64        `json:"throughput"` // successful requests per second
	Bytes       int64          `json:"bytes"`      // response body bytes of successful requests
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	Max         float64        `json:"max_ms"`
	Statuses    map[string]int `json:"statuses"`
}

// sample is one recorded request.
type sample struct {
	latency time.Duration
	status  int
	bytes   int64
	err     error
}

// worker state: recorded samples of one goroutine.
type recorder struct {
	samples []sample
	dropped int
}

// Run applies the load and returns what it measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.URL == "" {
		return nil, errors.New("loadgen: no URL")
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Duration <= 0 {
		return nil, errors.New("loadgen: duration must be positive")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DropAfter <= 0 {
		cfg.DropAfter = 2 * time.Second
	}
	client := newClient(cfg.Concurrency, cfg.Timeout)
	defer client.CloseIdleConnections()

	start := time.Now()
	recordFrom := start.Add(cfg.Warmup)
	end := recordFrom.Add(cfg.Duration)
	recs := make([]*recorder, cfg.Concurrency)
	for i := range recs {
		recs[i] = &recorder{}
	}
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		due := schedule(ctx, start, end, cfg.Rate)
		dropAt := end.Add(cfg.DropAfter)
		for _, rec := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range due {
					if time.Now().After(dropAt) {
						if !t.Before(recordFrom) {
							rec.dropped++
						}
						continue
					}
					s := do(ctx, client, &cfg, t)
					if !t.Before(recordFrom) {
						rec.samples = append(rec.samples, s)
					}
				}
			}()
		}
	} else {
		for _, rec := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					t := time.Now()
					if !t.Before(end) {
						return
					}
					s := do(ctx, client, &cfg, t)
					if !t.Before(recordFrom) {
						rec.samples = append(rec.samples, s)
					}
				}
			}()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	elapsed := time.Since(recordFrom)
	if elapsed < cfg.Duration {
		elapsed = cfg.Duration
	}
	return summarize(cfg, recs, elapsed), nil
}

// schedule sends the due time of each request of an open-loop load on the
// returned channel, closing it at end. The channel is buffered so that the
// schedule keeps its pace when every worker is busy.
func schedule(ctx context.Context, start, end time.Time, rate float64) <-chan time.Time {
	total := int(end.Sub(start).Seconds() * rate)
	due := make(chan time.Time, total+1)
	interval := time.Duration(float64(time.Second) / rate)
	go func() {
		defer close(due)
		for i := 0; i < total; i++ {
			t := start.Add(time.Duration(i) * interval)
			if wait := time.Until(t); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			due <- t
		}
	}()
	return due
}

func newClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// do sends one request; its latency runs from due to the end of the body.
func do(ctx context.Context, client *http.Client, cfg *Config, due time.Time) sample {
	var body io.Reader
	if cfg.Body != nil {
		body = bytes.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, body)
	if err != nil {
		return sample{err: err, latency: time.Since(due)}
	}
	for k, v := range cfg.Header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return sample{err: err, latency: time.Since(due)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	s := sample{latency: time.Since(due), status: resp.StatusCode, bytes: n, err: err}
	if s.err == nil && !statusOK(cfg.ExpectStatus, resp.StatusCode) {
		s.err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return s
}

func statusOK(want, got int) bool {
	if want != 0 {
		return got == want
	}
	return got >= 200 && got < 300
}

func summarize(cfg Config, recs []*recorder, elapsed time.Duration) *Result {
	r := &Result{Mode: "closed", Concurrency: cfg.Concurrency, Statuses: map[string]int{}, Seconds: elapsed.Seconds()}
	if cfg.Rate > 0 {
		r.Mode, r.Rate = "open", cfg.Rate
	}
	var lat []time.Duration
	for _, rec := range recs {
		r.Dropped += rec.dropped
		for _, s := range rec.samples {
			r.Requests++
			if s.status != 0 {
				r.Statuses[fmt.Sprint(s.status)]++
			}
			if s.err != nil {
				r.Errors++
				if r.FirstError == "" {
					r.FirstError = s.err.Error()
				}
				continue
			}
			r.Bytes += s.bytes
			lat = append(lat, s.latency)
		}
	}
	stats.SortDurations(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Throughput = float64(len(lat)) / elapsed.Seconds()
	r.P50, r.P90, r.P99 = ms(stats.Percentile(lat, 50)), ms(stats.Percentile(lat, 90)), ms(stats.Percentile(lat, 99))
	if len(lat) > 0 {
		r.Max = ms(lat[len(lat)-1])
	}
	return r
}
