// Package conncache keeps one open connection per key (a node of a
// cluster) for the engine drivers' periodic probes, so that observing a
// cluster every second costs a query on a connection already open, not a
// new connection each time (a PostgreSQL backend forked, a MySQL thread,
// a TCP handshake and authentication).
//
// A connection is taken out of the cache while it is used, so callers never
// share one: a second caller for the same key meanwhile opens one of its
// own, and only one of the two is kept afterwards.
package conncache

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Cache holds idle connections of type C by key. The zero value is not
// usable; see New.
type Cache[C any] struct {
	close  func(C)
	broken func(C) bool
	idle   time.Duration
	now    func() time.Time

	mu    sync.Mutex
	conns map[string]entry[C]
	swept time.Time
}

type entry[C any] struct {
	conn C
	used time.Time
}

// New returns a cache that closes connections with closeFn, and closes
// those left unused for longer than idle (checked as the cache is used).
// broken, if set, tells a connection that no longer works (closed by its
// server, or on a network error) from one on which a call failed for
// another reason (an error the server returned), which stays usable; nil
// takes every failure for a broken connection.
func New[C any](closeFn func(C), idle time.Duration, broken func(C) bool) *Cache[C] {
	if broken == nil {
		broken = func(C) bool { return true }
	}
	return &Cache[C]{close: closeFn, broken: broken, idle: idle, now: time.Now, conns: map[string]entry[C]{}}
}

// Do runs f on the connection cached for key, or on a new one from dial,
// and keeps the connection for the next call. When f fails on a cached
// connection that turns out broken (its server restarted since, say),
// that connection is closed and, unless ctx ended, f runs once more on a
// new one: a stale connection never makes a healthy server look down. A
// broken connection is closed, never kept; f's error on a working one is
// returned as it is, f not run again.
func (c *Cache[C]) Do(ctx context.Context, key string, dial func(context.Context) (C, error), f func(C) error) error {
	conn, cached := c.take(key)
	if !cached {
		var err error
		if conn, err = dial(ctx); err != nil {
			return err
		}
	}
	err := f(conn)
	if err != nil && cached && ctx.Err() == nil && c.broken(conn) {
		c.close(conn)
		if conn, err = dial(ctx); err != nil {
			return err
		}
		err = f(conn)
	}
	if err != nil && c.broken(conn) {
		c.close(conn)
		return err
	}
	c.put(key, conn)
	return err
}

// take removes and returns the connection cached for key, if any.
func (c *Cache[C]) take(key string) (C, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked()
	e, ok := c.conns[key]
	if ok {
		delete(c.conns, key)
	}
	return e.conn, ok
}

// put caches conn for key; one cached meanwhile for the same key wins and
// conn is closed.
func (c *Cache[C]) put(key string, conn C) {
	c.mu.Lock()
	_, taken := c.conns[key]
	if !taken {
		c.conns[key] = entry[C]{conn: conn, used: c.now()}
	}
	c.mu.Unlock()
	if taken {
		c.close(conn)
	}
}

// sweepLocked closes connections unused for longer than idle, at most
// once every idle/2. The caller holds mu.
func (c *Cache[C]) sweepLocked() {
	now := c.now()
	if now.Sub(c.swept) < c.idle/2 {
		return
	}
	c.swept = now
	for k, e := range c.conns {
		if now.Sub(e.used) > c.idle {
			delete(c.conns, k)
			go c.close(e.conn)
		}
	}
}

// Forget closes the cached connections whose keys start with prefix (a
// cluster that was stopped or destroyed).
func (c *Cache[C]) Forget(prefix string) {
	c.mu.Lock()
	var gone []C
	for k, e := range c.conns {
		if strings.HasPrefix(k, prefix) {
			gone = append(gone, e.conn)
			delete(c.conns, k)
		}
	}
	c.mu.Unlock()
	for _, conn := range gone {
		c.close(conn)
	}
}

// Len is how many connections are cached.
func (c *Cache[C]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}
