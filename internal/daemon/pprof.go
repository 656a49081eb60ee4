package daemon

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves Go's profiles on PprofListen until ctx ends (an
// operator's debugging aid; off by default).
func (d *Daemon) servePprof(ctx context.Context) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: d.cfg.PprofListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	d.log.Info("pprof serving", "listen", d.cfg.PprofListen)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		d.log.Warn("pprof", "error", err)
	}
}
