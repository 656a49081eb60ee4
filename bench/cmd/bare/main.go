// Command bare is the baseline of the API read benchmark: a plain net/http
// server that answers fixed bytes (the JSON bodies captured from dbaasd),
// with nothing between the socket and the body: no routing beyond an exact
// path match, no authentication, no store.
//
//	bare -listen 127.0.0.1:PORT -route /v1/datastores=list.json -route …
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type routes map[string][]byte

func (r routes) String() string { return fmt.Sprint(len(r), " routes") }

func (r routes) Set(v string) error {
	path, file, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("want PATH=FILE, got %q", v)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("route %s: %w", path, err)
	}
	r[path] = b
	return nil
}

func main() {
	rt := routes{}
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Var(rt, "route", "PATH=FILE: answer GET PATH with the bytes of FILE (repeatable)")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := rt[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
