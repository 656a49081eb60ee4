package auth

import (
	"sync"
	"time"
)

// maxCachedTokens bounds the tokens remembered; past it, an arbitrary one
// is forgotten for each new one (a forgotten token costs one lookup).
const maxCachedTokens = 10_000

// cachedToken is a resolved token with the version of its project when
// it was read.
type cachedToken struct {
	Principal
	expiresAt *time.Time
	version   int64
}

func (e *cachedToken) expired(now time.Time) bool {
	return e.expiresAt != nil && !now.Before(*e.expiresAt)
}

// tokenCache remembers resolved tokens by keyed hash. It never decides
// alone that a token is valid: Authenticate checks the project's version
// in the store on every request.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*cachedToken
}

func newTokenCache(n int) *tokenCache { return &tokenCache{max: n, m: make(map[string]*cachedToken)} }

func (c *tokenCache) get(h string) *cachedToken {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[h]
}

func (c *tokenCache) put(h string, e *cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[h] = e
}

func (c *tokenCache) drop(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}
