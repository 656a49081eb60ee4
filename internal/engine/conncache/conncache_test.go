package conncache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeConn is a connection that counts its uses and knows whether it was closed.
type fakeConn struct {
	id     int
	broken bool
	closed bool
}

type fixture struct {
	mu     sync.Mutex
	dialed []*fakeConn
	cache  *Cache[*fakeConn]
}

func newFixture() *fixture {
	fx := &fixture{}
	fx.cache = New(func(c *fakeConn) {
		fx.mu.Lock()
		c.closed = true
		fx.mu.Unlock()
	}, time.Minute, nil)
	return fx
}

func (fx *fixture) dial(context.Context) (*fakeConn, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	c := &fakeConn{id: len(fx.dialed) + 1}
	fx.dialed = append(fx.dialed, c)
	return c, nil
}

// use runs a probe that fails on a broken connection and reports which
// connection answered.
func (fx *fixture) use(t *testing.T, key string) (int, error) {
	t.Helper()
	var got int
	err := fx.cache.Do(context.Background(), key, fx.dial, func(c *fakeConn) error {
		if c.closed {
			t.Fatalf("connection %d used after it was closed", c.id)
		}
		if c.broken {
			return errors.New("connection reset")
		}
		got = c.id
		return nil
	})
	return got, err
}

func TestReusesOneConnectionPerKey(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	for i := 0; i < 5; i++ {
		if id, err := fx.use(t, "cluster/a"); err != nil || id != 1 {
			t.Fatalf("probe %d on a: connection %d, %v; want connection 1", i, id, err)
		}
	}
	if id, _ := fx.use(t, "cluster/b"); id != 2 {
		t.Fatalf("key b used connection %d, want a new one (2)", id)
	}
	if len(fx.dialed) != 2 || fx.cache.Len() != 2 {
		t.Fatalf("dialed %d, cached %d; want 2 and 2", len(fx.dialed), fx.cache.Len())
	}
}

func TestStaleConnectionIsReplacedWithinTheSameCall(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	if _, err := fx.use(t, "k"); err != nil {
		t.Fatal(err)
	}
	fx.dialed[0].broken = true // the server restarted: the cached connection is dead
	id, err := fx.use(t, "k")
	if err != nil || id != 2 {
		t.Fatalf("probe after a restart: connection %d, %v; want a fresh connection 2 and no error", id, err)
	}
	if !fx.dialed[0].closed {
		t.Error("the dead connection was not closed")
	}
	if id, _ := fx.use(t, "k"); id != 2 {
		t.Errorf("next probe used connection %d, want the fresh one kept (2)", id)
	}
}

func TestFailureOnAFreshConnectionIsReportedAndNothingKept(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	boom := errors.New("server says no")
	err := fx.cache.Do(context.Background(), "k", fx.dial, func(*fakeConn) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if len(fx.dialed) != 1 || !fx.dialed[0].closed || fx.cache.Len() != 0 {
		t.Fatalf("dialed %d (closed %v), cached %d; want one dial, closed, nothing cached",
			len(fx.dialed), len(fx.dialed) > 0 && fx.dialed[0].closed, fx.cache.Len())
	}
	dialErr := errors.New("connection refused")
	err = fx.cache.Do(context.Background(), "k", func(context.Context) (*fakeConn, error) { return nil, dialErr },
		func(*fakeConn) error { t.Fatal("f ran without a connection"); return nil })
	if !errors.Is(err, dialErr) {
		t.Fatalf("err = %v, want the dial error", err)
	}
}

func TestNoRetryOnceTheContextEnded(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	if _, err := fx.use(t, "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fx.cache.Do(ctx, "k", fx.dial, func(*fakeConn) error { return ctx.Err() })
	if !errors.Is(err, context.Canceled) || len(fx.dialed) != 1 {
		t.Fatalf("err = %v after %d dials; want context.Canceled and no second dial", err, len(fx.dialed))
	}
	if !fx.dialed[0].closed || fx.cache.Len() != 0 {
		t.Fatal("a connection a call failed on was kept")
	}
}

func TestConcurrentCallersNeverShareAConnection(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	var mu sync.Mutex
	inUse := map[*fakeConn]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := fx.cache.Do(context.Background(), "k", fx.dial, func(c *fakeConn) error {
					mu.Lock()
					if inUse[c] {
						mu.Unlock()
						return errors.New("shared")
					}
					inUse[c] = true
					mu.Unlock()
					time.Sleep(100 * time.Microsecond)
					mu.Lock()
					delete(inUse, c)
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := fx.cache.Len(); n != 1 {
		t.Fatalf("%d connections cached for one key, want 1", n)
	}
	open := 0
	for _, c := range fx.dialed {
		if !c.closed {
			open++
		}
	}
	if open != 1 {
		t.Fatalf("%d connections left open of %d dialed, want 1 (the cached one)", open, len(fx.dialed))
	}
}

func TestForgetAndIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	now := time.Now()
	fx.cache.now = func() time.Time { return now }
	for _, k := range []string{"c1/n1", "c1/n2", "c2/n1"} {
		if _, err := fx.use(t, k); err != nil {
			t.Fatal(err)
		}
	}
	fx.cache.Forget("c1/")
	if !fx.dialed[0].closed || !fx.dialed[1].closed || fx.dialed[2].closed || fx.cache.Len() != 1 {
		t.Fatalf("after Forget(c1/): closed %v %v %v, cached %d; want c1's closed, c2's kept",
			fx.dialed[0].closed, fx.dialed[1].closed, fx.dialed[2].closed, fx.cache.Len())
	}
	// c2/n1 is not used for longer than the idle time: the next use of
	// the cache closes it.
	now = now.Add(2 * time.Minute)
	if _, err := fx.use(t, "c3/n1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fx.mu.Lock()
		closed := fx.dialed[2].closed
		fx.mu.Unlock()
		if closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle connection was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if fx.cache.Len() != 1 {
		t.Fatalf("cached %d, want only c3/n1", fx.cache.Len())
	}
}

// TestServerErrorsKeepAWorkingConnection: with a broken check, a call that
// fails on a connection that still works (an error the server returned)
// is not run again and the connection stays; one that broke is replaced.
func TestServerErrorsKeepAWorkingConnection(t *testing.T) {
	t.Parallel()
	var dialed []*fakeConn
	cache := New(func(c *fakeConn) { c.closed = true }, time.Minute, func(c *fakeConn) bool { return c.broken })
	dial := func(context.Context) (*fakeConn, error) {
		c := &fakeConn{id: len(dialed) + 1}
		dialed = append(dialed, c)
		return c, nil
	}
	refused := errors.New("ERROR: invalid value for parameter")
	runs := 0
	fail := func(*fakeConn) error { runs++; return refused }
	if err := cache.Do(context.Background(), "k", dial, func(*fakeConn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := cache.Do(context.Background(), "k", dial, fail); !errors.Is(err, refused) || runs != 1 {
		t.Fatalf("err %v after %d runs, want the server's error after one run", err, runs)
	}
	if len(dialed) != 1 || dialed[0].closed || cache.Len() != 1 {
		t.Fatalf("dialed %d, first closed %v, cached %d: want the working connection kept", len(dialed), dialed[0].closed, cache.Len())
	}
	dialed[0].broken = true
	var used int
	if err := cache.Do(context.Background(), "k", dial, func(c *fakeConn) error {
		if c.broken {
			return errors.New("connection reset")
		}
		used = c.id
		return nil
	}); err != nil || used != 2 || !dialed[0].closed {
		t.Fatalf("after the connection broke: err %v, used %d, first closed %v; want a new connection 2", err, used, dialed[0].closed)
	}
}
