package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine/conncache"
)

// probes keeps a client open to every node Observe looks at, so that
// observing a cluster every second costs a PING and an INFO on a
// connection already open (on the node's Unix socket, as dbaasd's
// internal user), not a new connection and AUTH each time. A client
// unused for a minute is closed; one that fails is replaced at once.
var probes = conncache.New(func(cl *goredis.Client) { _ = cl.Close() }, time.Minute, nil)

// onProbe runs f on the node's probe client, open since an earlier call
// or connected now with the first of creds that works.
func onProbe(ctx context.Context, key string, ep endpoint, creds []cred, f func(*goredis.Client) error) error {
	return probes.Do(ctx, key, func(ctx context.Context) (*goredis.Client, error) {
		cl, _, err := connect(ctx, ep, creds)
		return cl, err
	}, f)
}
