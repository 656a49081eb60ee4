package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoop(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("X-Auth-Token") != "tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("hello"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 4, Duration: 200 * time.Millisecond,
		Warmup: 50 * time.Millisecond, Header: http.Header{"X-Auth-Token": {"tok"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.Statuses["200"] != res.Requests {
		t.Fatalf("unexpected result: %+v", res)
	}
	if int64(res.Requests) >= n.Load() {
		t.Errorf("warm-up requests were recorded: %d recorded of %d sent", res.Requests, n.Load())
	}
	if res.Bytes != int64(5*res.Requests) || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("inconsistent result: %+v", res)
	}
}

func TestOpenLoopKeepsRateAndCountsErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 8, Duration: 500 * time.Millisecond, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "open" || res.Requests < 80 || res.Requests > 101 {
		t.Errorf("open loop at 200/s for 0.5 s sent %d requests (%+v)", res.Requests, res)
	}
	if res.Errors != res.Requests || res.FirstError == "" || res.Throughput != 0 {
		t.Errorf("418 must count as errors: %+v", res)
	}
}

func TestOpenLoopDropsWhatASlowServerCannotTake(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // at most 20 req/s per connection
	}))
	defer srv.Close()
	start := time.Now()
	res, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 1, Duration: 300 * time.Millisecond,
		Rate: 200, DropAfter: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("run took %s: the backlog was not dropped", took)
	}
	if res.Dropped == 0 || res.Requests+res.Dropped < 55 {
		t.Errorf("want most of the 60 due requests dropped: %+v", res)
	}
}
