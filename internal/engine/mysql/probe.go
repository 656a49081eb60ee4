package mysql

import (
	"database/sql"
	"sync"
	"time"
)

// probeIdle is how long a node's probe pool nobody used stays open.
const probeIdle = time.Minute

// probePools keeps the connection pool of every node Observe looks at,
// so that observing a cluster every second is a query on a connection
// already open, not a new connection and login each time. database/sql
// replaces a connection the server closed (a restart), checking each one
// before it reuses it; pools unused for probeIdle are closed.
var probePools = struct {
	sync.Mutex
	m     map[string]*probePool
	swept time.Time
}{m: map[string]*probePool{}}

type probePool struct {
	db   *sql.DB
	used time.Time
}

// probeDB returns the probe pool of a server's Unix socket for the admin
// password; callers share it and never close it.
func probeDB(socket, password string) *sql.DB {
	key := socket + "\x00" + password
	now := time.Now()
	probePools.Lock()
	defer probePools.Unlock()
	if now.Sub(probePools.swept) > probeIdle/2 {
		probePools.swept = now
		for k, p := range probePools.m {
			if now.Sub(p.used) > probeIdle {
				delete(probePools.m, k)
				go func() { _ = p.db.Close() }()
			}
		}
	}
	p := probePools.m[key]
	if p == nil {
		p = &probePool{db: openSocket(socket, password, observeTimeout)}
		probePools.m[key] = p
	}
	p.used = now
	return p.db
}
