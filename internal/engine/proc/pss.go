package proc

import (
	"sync"
	"time"
)

// Reading a process's proportional set size (smaps_rollup) makes the
// kernel walk every page the process maps: for a PostgreSQL server, the
// shared buffers once per backend. Sampled every metrics round for every
// process of every datastore, that was a fifth of an idle dbaasd's CPU
// with dozens of live clusters. A process's PSS is read again only when
// its resident set (from the stat line the snapshot read anyway) moved by
// more than 1/pssDrift, or the reading is older than pssMaxAge; otherwise
// the last reading stands. What that can miss: a share of pages that
// changed without the process's own resident set changing (another
// process started or stopped sharing them), for at most pssMaxAge.

const (
	pssMaxAge = 5 * time.Minute
	pssDrift  = 64
)

type pssKey struct {
	root  string
	pid   int
	start int64
}

type pssReading struct {
	rssPage int64
	pss     int64
	at      time.Time
}

var pssCache struct {
	mu    sync.Mutex
	m     map[pssKey]pssReading
	swept time.Time
}

// pss returns the proportional set size of process pid, whose stat line
// is st: the last reading while it still holds, else a new one.
func (p *Processes) pss(pid int, st Stat) (int64, bool) {
	now := time.Now()
	k := pssKey{root: p.root, pid: pid, start: st.StartTicks}
	pssCache.mu.Lock()
	r, ok := pssCache.m[k]
	pssCache.mu.Unlock()
	if d := st.RSSPages - r.rssPage; ok && now.Sub(r.at) < pssMaxAge && max(d, -d)*pssDrift <= r.rssPage {
		return r.pss, true
	}
	v, ok := readPss(p.root, pid)
	if !ok {
		return 0, false
	}
	pssCache.mu.Lock()
	defer pssCache.mu.Unlock()
	if pssCache.m == nil {
		pssCache.m = map[pssKey]pssReading{}
	}
	pssCache.m[k] = pssReading{rssPage: st.RSSPages, pss: v, at: now}
	if now.Sub(pssCache.swept) > pssMaxAge {
		pssCache.swept = now
		for k, r := range pssCache.m {
			if now.Sub(r.at) > pssMaxAge {
				delete(pssCache.m, k)
			}
		}
	}
	return v, true
}
