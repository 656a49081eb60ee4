package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/conncache"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

const (
	// probeApp is the application_name of the connection the driver keeps
	// open to each node (see onProbe); Sample leaves it out of the clients
	// it counts.
	probeApp = "dbaasd-probe"
	// probeIdle is how long a probe connection nobody used stays open.
	probeIdle = time.Minute
	// sizeRecheck and sizeMaxAge bound how long a node's measured data
	// size is reused (see dataSize).
	sizeRecheck = 5 * time.Second
	sizeMaxAge  = 2 * time.Minute
)

// newProbes is the cache of probe connections.
func newProbes() *conncache.Cache[*pgx.Conn] {
	return conncache.New(func(conn *pgx.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}, probeIdle, (*pgx.Conn).IsClosed)
}

// onProbe runs f on the connection the driver keeps open to a node
// (superuser, database postgres), open since an earlier call or opened now
// (see conncache.Cache.Do): Observe, Slots and Sample every round, and the
// checks Ensure makes of each server, cost a query, not a connection (a
// backend process forked and set up: tens of milliseconds of CPU on a busy
// machine). f must leave the session as it found it (no SET, no open
// transaction); a call that fails on a connection that still works is not
// run again.
func (d *Driver) onProbe(ctx context.Context, c *engine.Cluster, p nodePaths, f func(*pgx.Conn) error) error {
	key := fmt.Sprintf("%s/%s/%s/%d", c.ID, p.id, p.socketDir, p.port)
	return d.probes.Do(ctx, key, func(ctx context.Context) (*pgx.Conn, error) {
		return connectAs(ctx, p, "postgres", probeApp)
	}, f)
}

// forget closes a cluster's probe connections and forgets its measured
// sizes (it was stopped or destroyed).
func (d *Driver) forget(c *engine.Cluster) {
	d.probes.Forget(c.ID + "/")
	if c.Dir != "" {
		d.sizes.forget(c.Dir + "/")
	}
}

// sizeCache remembers the measured size of data directories.
type sizeCache struct {
	mu     sync.Mutex
	m      map[string]sizeEntry // by data directory
	pruned time.Time
}

type sizeEntry struct {
	size int64
	lsn  uint64
	at   time.Time
}

const (
	// sizeSlack is what a data directory may grow by without WAL to show
	// for it between two measures, beyond twice the WAL written: the next
	// WAL segment created ahead of its use.
	sizeSlack = 16 << 20
	// sizeTolerance is the growth a reused size may miss (for at most
	// sizeMaxAge) however small the directory: a forced segment switch
	// (archive_timeout) moves the WAL position up to a segment (16 MB)
	// without writing it.
	sizeTolerance = 32 << 20
)

// stale reports whether a size measured as e no longer answers for a node
// whose WAL position is now lsn (0 when unknown: measured again after
// sizeRecheck). What a node writes goes through its WAL, and its data
// directory grows by at most about twice the WAL written (the WAL itself,
// then the pages it describes), so the size is measured again when that
// growth could be more than 1/64 of it and more than sizeTolerance, or
// could cross limit; when the WAL
// went back (a restore, a new timeline); and in any case after sizeMaxAge
// (what grows without WAL: temporary files, unlogged tables). Never sooner
// than sizeRecheck after the last measure unless the WAL went back. An
// idle node costs a walk every sizeMaxAge, a node near its limit one every
// sizeRecheck.
func (e sizeEntry) stale(now time.Time, lsn uint64, limit int64) bool {
	age := now.Sub(e.at)
	switch {
	case age < 0 || age >= sizeMaxAge:
		return true
	case lsn == 0: // the server did not say
		return age >= sizeRecheck
	case lsn < e.lsn:
		return true
	case lsn == e.lsn || age < sizeRecheck:
		return false
	}
	growth := 2 * int64(lsn-e.lsn)
	return growth > max(e.size/64, sizeTolerance) || (limit > 0 && e.size+growth+sizeSlack > limit)
}

// dataSize returns the size of a node's data directory. Walking a data
// directory (a thousand files and more) is the dearest part of observing
// a node, so a size is measured again only when it may have changed enough
// to matter (see sizeEntry.stale); limit is the size above which the node
// counts as full (0 = none).
func (d *Driver) dataSize(p nodePaths, lsn uint64, limit int64) (int64, error) {
	now := time.Now()
	sc := &d.sizes
	sc.mu.Lock()
	e, ok := sc.m[p.data]
	sc.mu.Unlock()
	if ok && !e.stale(now, lsn, limit) {
		return e.size, nil
	}
	size, err := proc.DirSize(p.data)
	if err != nil {
		return 0, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = map[string]sizeEntry{}
	}
	sc.m[p.data] = sizeEntry{size: size, lsn: lsn, at: now}
	if now.Sub(sc.pruned) > sizeMaxAge {
		sc.pruned = now
		for k, v := range sc.m {
			if now.Sub(v.at) > 2*sizeMaxAge {
				delete(sc.m, k)
			}
		}
	}
	return size, nil
}

// forget drops the sizes of data directories under prefix.
func (sc *sizeCache) forget(prefix string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for k := range sc.m {
		if strings.HasPrefix(k, prefix) {
			delete(sc.m, k)
		}
	}
}
