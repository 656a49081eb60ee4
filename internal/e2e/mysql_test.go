package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
)

// myOpen opens a go-sql-driver/mysql connection with only what the API
// returned; localIP, when set, is the source address.
func myOpen(t *testing.T, addr, user, password, db, localIP string) (*sql.DB, error) {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName, cfg.Addr, cfg.Net = user, password, db, addr, "tcp"
	cfg.Timeout = 5 * time.Second
	if localIP != "" {
		netName := "from-" + localIP + "-" + fmt.Sprint(time.Now().UnixNano())
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
		mysql.RegisterDialContext(netName, func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		})
		cfg.Net = netName
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db2 := sql.OpenDB(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db2.PingContext(ctx); err != nil {
		_ = db2.Close()
		return nil, err
	}
	t.Cleanup(func() { _ = db2.Close() })
	return db2, nil
}

func mustMy(t *testing.T, addr, user, password, db string) *sql.DB {
	t.Helper()
	c, err := myOpen(t, addr, user, password, db, "")
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", addr, user, err)
	}
	return c
}

// TestMySQLEndToEnd runs both MySQL cluster types with three nodes through
// the API: users, databases, grants, replication to every node, the
// engine's own replication status, config and firewall.
func TestMySQLEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	for _, engine := range []string{"mysql_native", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			e := at.Start(t, at.Options{Reconcile: true})
			ds := e.CreateDatastore(at.TokenA, engine, "my-"+engine, 3)
			r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 4*wait)
			if os.Geteuid() == 0 {
				// Every port the servers listen on (Galera's group
				// communication included) comes from dbaasd's range.
				ports := listeningPorts(t, intruder.Lookup(t, proc.AccountName(ds)).UID)
				if engine == "mysql" && len(ports) < 6 {
					t.Errorf("the Galera cluster listens on %v, want a client and a group communication port per node", ports)
				}
				for _, p := range ports {
					if p < e.PortMin || p > e.PortMax {
						t.Errorf("a server listens on port %d, outside dbaasd's range %d-%d", p, e.PortMin, e.PortMax)
					}
				}
			}
			user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "app", "password": "Secret-pass-1"}}).Str("user.id")
			db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "appdb"}}).Str("database.id")
			e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
			e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
			master := r.Str("datastore.connection.master")
			if c, err := myOpen(t, master, "app", "Secret-pass-1", "appdb", ""); err == nil {
				if _, err := c.Exec("CREATE TABLE t (x INT PRIMARY KEY)"); err == nil {
					t.Error("a user without a grant created a table")
				}
			}
			grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": user}}).Str("grant.id")
			e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
			c := mustMy(t, master, "app", "Secret-pass-1", "appdb")
			if _, err := c.Exec("CREATE TABLE t (x INT PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec("INSERT INTO t VALUES (7)"); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"replica-1", "replica-2"} {
				rc := mustMy(t, r.Str("datastore.connection."+key), "app", "Secret-pass-1", "appdb")
				deadline := time.Now().Add(30 * time.Second)
				for {
					var x int
					err := rc.QueryRow("SELECT x FROM t").Scan(&x)
					if err == nil && x == 7 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s never saw the row: %v", key, err)
					}
					time.Sleep(100 * time.Millisecond)
				}
				if engine == "mysql_native" {
					if _, err := rc.Exec("INSERT INTO t VALUES (8)"); err == nil {
						t.Errorf("%s of a semi-sync cluster accepted a write", key)
					}
				} else if _, err := rc.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d)", 100+int(key[len(key)-1]-'0'))); err != nil {
					t.Errorf("%s of a Galera cluster refused a write: %v", key, err)
				}
			}
			var name, value string
			if engine == "mysql_native" {
				if err := c.QueryRow("SHOW STATUS LIKE 'Rpl_semi_sync_master_status'").Scan(&name, &value); err != nil || value != "ON" {
					t.Errorf("semi-sync status %q (%v)", value, err)
				}
			} else if err := c.QueryRow("SHOW STATUS LIKE 'wsrep_cluster_size'").Scan(&name, &value); err != nil || value != "3" {
				t.Errorf("wsrep_cluster_size %q (%v)", value, err)
			}
			// Configuration: a dynamic variable takes effect.
			at.MustPut(t, e, "/v1/datastores/"+ds+"/config", map[string]any{"config": map[string]any{"long_query_time": 3}})
			e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 2*wait)
			var lqt float64
			if err := c.QueryRow("SELECT @@GLOBAL.long_query_time").Scan(&lqt); err != nil || lqt != 3 {
				t.Errorf("long_query_time = %v (%v)", lqt, err)
			}
			// Firewall refuses other source addresses.
			at.MustPut(t, e, "/v1/datastores/"+ds+"/firewall", map[string]any{"firewall": map[string]any{"ips": []string{"127.0.0.1"}}})
			e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 2*wait)
			if _, err := myOpen(t, master, "app", "Secret-pass-1", "appdb", "127.0.0.2"); err == nil {
				t.Error("a connection from 127.0.0.2 was accepted")
			} else if !strings.Contains(err.Error(), "not allowed") && !strings.Contains(err.Error(), "denied") {
				t.Errorf("unexpected refusal: %v", err)
			}
			mustMy(t, master, "app", "Secret-pass-1", "appdb")
			// Operations that do not fit the engine get a clear 4xx.
			if r := e.Do(at.TokenA, http.MethodPost, "/v1/topics", map[string]any{"topic": map[string]any{"datastore_id": ds, "name": "x", "partitions": 1}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "do not apply") {
				t.Errorf("topic on MySQL: %d %s", r.Status, r.Body)
			}
			if r := e.Do(at.TokenA, http.MethodPost, "/v1/logical-replication-slots", map[string]any{"logical-replication-slot": map[string]any{"datastore_id": ds, "database_id": db, "name": "s"}}); r.Status != http.StatusBadRequest {
				t.Errorf("slot on MySQL: %d %s", r.Status, r.Body)
			}
		})
	}
}

// listeningPorts lists the TCP ports that processes of uid listen on, as
// any local user can read them.
func listeningPorts(t *testing.T, uid int) []int {
	t.Helper()
	var ports []int
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 8 || fields[3] != "0A" || fields[7] != strconv.Itoa(uid) {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 16)
			if err == nil {
				ports = append(ports, int(p))
			}
		}
	}
	return ports
}
