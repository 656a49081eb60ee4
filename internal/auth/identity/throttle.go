package identity

import (
	"sync"
	"time"
)

// Login throttling. Failed password logins are counted per key — the user
// name with the source address, the user name alone (a guess spread over
// many addresses) and the source address alone (many names guessed from
// one address) — and once a key has had its free failures, every further
// failure locks it for twice as long as the one before, from 1 s up to
// throttleMaxLock. While any key of a login is locked, the login is
// answered 429 with Retry-After without its password being checked, so
// the right password does not get in either. A success clears the keys of
// that user name, not the address's. Counters are per dbaasd process.
const (
	freePairFailures    = 5
	freeUserFailures    = 20
	freeAddressFailures = 20
	throttleFirstLock   = time.Second
	throttleMaxLock     = 15 * time.Minute
	// throttleForget is how long after its last failure a key is
	// forgotten (its count starts again from zero).
	throttleForget = time.Hour
	// throttleMaxKeys bounds the memory of the counters; beyond it, keys
	// that are not locked are dropped.
	throttleMaxKeys = 100_000
)

// throttleKey is one thing failures are counted by.
type throttleKey struct {
	scope string // "user+source", "user" or "source"
	value string
}

type throttleEntry struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// lock is a key that a failure has just locked.
type lock struct {
	key      throttleKey
	failures int
	d        time.Duration
}

// throttle counts failed logins.
type throttle struct {
	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
}

func newThrottle() *throttle { return &throttle{entries: map[throttleKey]*throttleEntry{}} }

// keysOf returns the keys a login of user (as the client named it, "" when
// it named none) from source address is counted by.
func keysOf(user, source string) []throttleKey {
	keys := []throttleKey{{"source", source}}
	if user != "" {
		keys = append(keys, throttleKey{"user+source", user + "\x00" + source}, throttleKey{"user", user})
	}
	return keys
}

func freeFailures(scope string) int {
	switch scope {
	case "user+source":
		return freePairFailures
	case "user":
		return freeUserFailures
	}
	return freeAddressFailures
}

// lockedFor returns how long the longest lock among keys still lasts (0:
// none is locked).
func (t *throttle) lockedFor(keys []throttleKey, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		if e := t.entries[k]; e != nil && e.lockedUntil.After(now) {
			longest = max(longest, e.lockedUntil.Sub(now))
		}
	}
	return longest
}

// fail counts a failed login against keys and returns the locks it set.
func (t *throttle) fail(keys []throttleKey, now time.Time) []lock {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= throttleMaxKeys {
		t.sweep(now)
	}
	var locks []lock
	for _, k := range keys {
		e := t.entries[k]
		if e == nil || now.Sub(e.lastFailure) > throttleForget {
			e = &throttleEntry{}
			t.entries[k] = e
		}
		e.failures++
		e.lastFailure = now
		if over := e.failures - freeFailures(k.scope); over > 0 {
			d := throttleMaxLock
			if over <= 20 { // 1 s · 2^20 is far past the maximum
				d = min(throttleFirstLock<<(over-1), throttleMaxLock)
			}
			e.lockedUntil = now.Add(d)
			locks = append(locks, lock{key: k, failures: e.failures, d: d})
		}
	}
	return locks
}

// succeed clears the keys of a user name after a successful login.
func (t *throttle) succeed(keys []throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if k.scope != "source" {
			delete(t.entries, k)
		}
	}
}

// sweep drops forgotten keys, then, if there are still too many, every
// key that is not locked. Called with mu held.
func (t *throttle) sweep(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.lastFailure) > throttleForget {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < throttleMaxKeys {
		return
	}
	for k, e := range t.entries {
		if !e.lockedUntil.After(now) {
			delete(t.entries, k)
		}
	}
}
