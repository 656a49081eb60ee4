package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the statement cache; the store's queries are
// a small fixed set (one per table operation and filter shape).
const maxCachedStatements = 512

// stmtCache keeps prepared statements by query text, so each query is
// parsed and planned once per connection instead of on every call.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// lookup returns the cached statement of a query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// prepare prepares a query on the pool and caches it. No lock is held
// while preparing (it needs a connection from the pool), so it must not
// be called by code that holds a connection of a transaction.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	full := len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if full {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	old := c.m[query]
	if old == nil {
		c.m[query] = st
	}
	c.mu.Unlock()
	if old != nil {
		// Another caller cached it first. The spare is closed with the
		// cache unlocked: closing waits for the connection it was
		// prepared on, whose statement may be waiting for SQLite's write
		// lock, held by a transaction that waits for this cache.
		_ = st.Close()
		return old
	}
	return st
}

// close closes every cached statement (outside the cache's lock, as in
// prepare).
func (c *stmtCache) close() {
	c.mu.Lock()
	m := c.m
	c.m = map[string]*sql.Stmt{}
	c.mu.Unlock()
	for _, st := range m {
		_ = st.Close()
	}
}

// prepared returns the statement to run query with in this context: the
// cached one (prepared now if it is not yet, outside transactions), bound
// to the transaction when there is one; nil to run the query unprepared.
// A transaction only reuses statements prepared before, unless the store
// lets it prepare (prepareInTx): preparing takes a second connection from
// the pool while it holds one, and a pool whose connections all wait so
// would never free one — which cannot happen when transactions are queued
// one at a time (SQLite).
func (o *ops) prepared(ctx context.Context, query string) *sql.Stmt {
	if o.cache == nil {
		return nil
	}
	st := o.cache.lookup(query)
	if o.tx != nil {
		if st == nil && o.prepareInTx {
			st = o.cache.prepare(ctx, query)
		}
		if st == nil {
			return nil
		}
		return o.tx.StmtContext(ctx, st)
	}
	if st == nil {
		st = o.cache.prepare(ctx, query)
	}
	return st
}
