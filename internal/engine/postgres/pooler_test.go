package postgres

import (
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// poolerConfig reads a setting from the PgBouncer console (SHOW CONFIG).
func poolerConfig(t *testing.T, c *engine.Cluster, key string) string {
	t.Helper()
	ctx := enginetest.Ctx(t)
	conn, err := poolerConsole(ctx, c, poolerPathsOf(c))
	if err != nil {
		t.Fatalf("pooler console: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, "SHOW CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if len(vals) >= 2 && vals[0] == key {
			return vals[1].(string)
		}
	}
	t.Fatalf("SHOW CONFIG has no %s", key)
	return ""
}

func TestPooler(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	pl := &engine.Pooler{Mode: "transaction", Size: 5, Host: "127.0.0.1", Port: freeTestPort()}
	c := newCluster(t, d, 1, func(c *engine.Cluster) { c.Pooler = pl })
	ctx := enginetest.Ctx(t)
	u := engine.User{Name: "pool_user", Password: "Pooled-123456"}
	if err := d.EnsureUser(ctx, c, u); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "pooled", Owner: u.Name}); err != nil {
		t.Fatal(err)
	}
	query := func(password, from string) (string, error) {
		conn, err := clientConn(ctx, pl.Host, pl.Port, u.Name, password, "pooled", from)
		if err != nil {
			return "", err
		}
		defer func() { _ = conn.Close(ctx) }()
		var s string
		err = conn.QueryRow(ctx, "SELECT current_user || '@' || current_database() || ':' || current_setting('port')").Scan(&s)
		return s, err
	}
	got, err := query(u.Password, "")
	if err != nil {
		t.Fatalf("query through the pooler: %v", err)
	}
	if want := "pool_user@pooled:" + itoa(c.Nodes[0].Port); got != want {
		t.Fatalf("through the pooler: %q, want %q", got, want)
	}
	if _, err := query("wrong-password", ""); err == nil {
		t.Fatal("the pooler let a wrong password in")
	}
	if got := poolerConfig(t, c, "pool_mode"); got != "transaction" {
		t.Fatalf("pool_mode = %q, want transaction", got)
	}
	pid := poolerPID(clusterRunner(t, d, c), poolerPathsOf(c))
	if pid == 0 {
		t.Fatal("no pgbouncer pid")
	}

	// Mode, size and firewall change with a reload (same process).
	pl.Mode, pl.Size = "session", 7
	c.Firewall = []string{"127.0.0.1"}
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := poolerConfig(t, c, "pool_mode"); got != "session" {
		t.Fatalf("pool_mode = %q after change, want session", got)
	}
	if got := poolerConfig(t, c, "default_pool_size"); got != "7" {
		t.Fatalf("default_pool_size = %q after change, want 7", got)
	}
	if poolerPID(clusterRunner(t, d, c), poolerPathsOf(c)) != pid {
		t.Fatal("pgbouncer restarted for a reloadable change")
	}
	if _, err := query(u.Password, "127.0.0.1"); err != nil {
		t.Fatalf("allowed address refused by the pooler: %v", err)
	}
	if _, err := query(u.Password, "127.0.0.2"); err == nil {
		t.Fatal("the pooler let in an address outside the firewall")
	}
	// Internal roles never log in through the pooler.
	if conn, err := clientConn(ctx, pl.Host, pl.Port, poolerAuthRole, "", "postgres", ""); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("the pooler's auth role logged in over TCP")
	}

	// A database created later works through the pooler too.
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "later", Owner: u.Name}); err != nil {
		t.Fatal(err)
	}
	conn, err := clientConn(ctx, pl.Host, pl.Port, u.Name, u.Password, "later", "")
	if err != nil {
		t.Fatalf("pooler to a database created later: %v", err)
	}
	_ = conn.Close(ctx)

	// A new port restarts it; no pooler stops it.
	pl.Port = freeTestPort()
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := query(u.Password, ""); err != nil {
		t.Fatalf("query through the pooler on its new port: %v", err)
	}
	pid = poolerPID(clusterRunner(t, d, c), poolerPathsOf(c))
	c.Pooler = nil
	if err := d.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(pid) {
		t.Fatal("pgbouncer still runs after the pooler was removed")
	}
}
