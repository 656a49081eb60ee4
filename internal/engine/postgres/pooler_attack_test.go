package postgres

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// startupPacket is a PostgreSQL protocol 3.0 startup message.
func startupPacket(user, database string) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 196608) // 3.0
	for _, kv := range [][2]string{{"user", user}, {"database", database}} {
		body = append(append(append(append(body, kv[0]...), 0), kv[1]...), 0)
	}
	body = append(body, 0)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// Someone who can reach the pooler's port but has no password: a flood of
// logins that never authenticate must not lock legitimate clients out for
// longer than the login timeout; the admin console is not reachable over
// TCP, even with a valid password; and an unknown user name gets the same
// answer as a wrong password, so names cannot be probed.
func TestPoolerWithstandsUnauthenticatedClients(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	pl := &engine.Pooler{Mode: "transaction", Size: 5, Host: "127.0.0.1", Port: freeTestPort()}
	c := newCluster(t, d, 1, func(c *engine.Cluster) { c.Pooler = pl })
	ctx := enginetest.Ctx(t)
	u := engine.User{Name: "pool_victim", Password: "Pooled-123456"}
	if err := d.EnsureUser(ctx, c, u); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "victimdb", Owner: u.Name}); err != nil {
		t.Fatal(err)
	}
	login := func(user, password, database string) error {
		conn, err := clientConn(ctx, pl.Host, pl.Port, user, password, database, "")
		if err == nil {
			_ = conn.Close(ctx)
		}
		return err
	}
	if err := login(u.Name, u.Password, "victimdb"); err != nil {
		t.Fatalf("login through the pooler: %v", err)
	}

	// The admin console, over TCP.
	if err := login(u.Name, u.Password, "pgbouncer"); err == nil {
		t.Error("a tenant reached the pooler's admin console over TCP")
	}

	// Unknown names and wrong passwords look the same.
	errText := func(err error) string {
		if err == nil {
			return "<nil>"
		}
		s := err.Error()
		return strings.ReplaceAll(s, "no_such_user", u.Name)
	}
	wrong := errText(login(u.Name, "wrong-password", "victimdb"))
	unknown := errText(login("no_such_user", "wrong-password", "victimdb"))
	if wrong == "<nil>" || wrong != unknown {
		t.Errorf("wrong password: %s\nunknown user:   %s\nwant the same refusal", wrong, unknown)
	}

	// The flood: as many connections as the pooler takes, each sending a
	// startup packet and never answering the password request.
	const flood = 1000
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := 0; i < flood; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", pl.Host, pl.Port), 5*time.Second)
			if err != nil {
				return
			}
			db := "pgbouncer"
			if i%2 == 1 {
				db = "victimdb"
			}
			_, _ = conn.Write(startupPacket(fmt.Sprintf("flood%d", i), db))
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	t.Logf("%d unauthenticated connections open", len(conns))
	// A legitimate client gets in within the login timeout (and a margin
	// for a loaded machine), while the flood's connections are still open
	// on the attacker's side.
	deadline := time.Now().Add(poolerLoginTimeout + 20*time.Second)
	var err error
	for {
		if err = login(u.Name, u.Password, "victimdb"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a legitimate client is still refused %s after the flood: %v", poolerLoginTimeout+20*time.Second, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
