package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"
)

// failoverEngines are the engines with automatic failover, in report order.
var failoverEngines = []string{"postgresql", "mysql_native", "redis"}

// failoverTarget is the target for PostgreSQL.
const failoverTarget = 5.0

// pidFiles are the server pid files of a node, by engine, relative to the
// node's directory or (Redis) to its runtime directory.
var pidFiles = map[string][]string{
	"postgresql":   {"data/postmaster.pid"},
	"mysql_native": {"*.pid", "*/*.pid"},
	"redis":        {"redis.pid"},
}

// Credentials of the failover benchmark's writer.
const (
	fwUser, fwPassword, fwDatabase = "bench_writer", "Bench-Secret-1", "bench_db"
	redisPassword                  = "Redis-Secret-1" // dbaasd.Client.CreateDatastore's
)

// runFailover is section 7: a 3-node cluster of each engine with automatic
// failover, a client writing through the address the API gives as fast as
// it can; the primary server is killed (SIGKILL) and the time until the
// client's first acknowledged write on the new primary is measured. dbaasd
// runs with its default --probe-interval and --failover-after.
func runFailover(ctx context.Context, e *env, res *results) error {
	const sec = "failover"
	cs, err := startClusterServer(ctx, e, "f")
	if err != nil {
		return err
	}
	defer cs.stop(e)
	cl, dataDir, types := cs.cl, cs.dataDir, cs.types
	d := &detail{title: "Failover: primary killed → first acknowledged write on the new primary",
		header: []string{"engine", "failover (s)", "writes acknowledged", "acknowledged writes lost"}}
	for _, eng := range failoverEngines {
		if !slices.Contains(e.cfg.engines, eng) || types[eng] == "" || (e.cfg.quick && !fastEngines[eng]) {
			continue // quick mode: the engines whose clusters start in well under a second
		}
		var secs []float64
		acked, lost := 0, 0
		for run := 1; run <= e.cfg.runs; run++ {
			r, err := failoverOnce(ctx, cl, types[eng], eng, run, killServer(dataDir, eng))
			if err != nil {
				return fmt.Errorf("%s failover, run %d: %w", eng, run, err)
			}
			e.logf("run %d/%d %s failover %6.2f s, %d writes acknowledged, %d lost", run, e.cfg.runs, eng, r.took.Seconds(), r.acked, r.lost)
			secs = append(secs, r.took.Seconds())
			acked += r.acked
			lost += r.lost
		}
		f := &figure{section: sec, name: eng + ", 3 nodes: failover (primary killed → new primary accepting writes)", unit: "s", values: secs}
		if eng == "postgresql" {
			f.target = below{limit: failoverTarget, unit: "s"}
		}
		res.add(f)
		d.rows = append(d.rows, []string{eng, report.Summary(summarize(secs), ""), fmt.Sprint(acked), fmt.Sprint(lost)})
	}
	d.notes = append(d.notes,
		"dbaasd runs with its defaults: --probe-interval 1s, --failover-after 2s (PostgreSQL and MySQL); Redis fails over by Sentinel's own election (down-after-milliseconds as dbaasd configures it).",
		"The writer inserts one row (PostgreSQL, MySQL) or sets one key (Redis) at a time, re-reading connection.master from the API after every error; a write counts once the server acknowledged it. Lost = acknowledged writes missing on the new primary afterwards (Redis replicates asynchronously: writes acknowledged in its last moments may be lost, see the README).",
		"No baseline: the target (PostgreSQL under 5 s) is absolute; most of the time is detection, by design (a primary must stay unreachable for --failover-after before a replica is promoted).")
	res.addDetail(sec, d)
	return nil
}

// failoverResult is one failover.
type failoverResult struct {
	took        time.Duration
	acked, lost int
}

// primaryTarget is the primary a failover writer writes to.
type primaryTarget interface {
	write(ctx context.Context, n int) error
	// present lists which of the numbers written are there.
	present(ctx context.Context) (map[int]bool, error)
	close()
}

// killServer kills a node's server process of a local cluster (SIGKILL).
func killServer(dataDir, eng string) func(datastoreID, nodeID string) error {
	return func(datastoreID, nodeID string) error {
		pid, err := serverPID(dataDir, datastoreID, nodeID, eng)
		if err != nil {
			return err
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill primary %d: %w", pid, err)
		}
		return nil
	}
}

// failoverOnce creates a 3-node cluster, writes, kills the primary with
// kill and measures; the cluster is deleted afterwards.
func failoverOnce(ctx context.Context, cl *dbaasd.Client, typeID, eng string, run int, kill func(datastoreID, nodeID string) error) (failoverResult, error) {
	var zero failoverResult
	id, err := cl.CreateDatastore(ctx, typeID, eng, fmt.Sprintf("bench-failover-%s-%d", strings.ReplaceAll(eng, "_", "-"), run), 3)
	if err != nil {
		return zero, err
	}
	defer func() { _ = cl.DeleteDatastore(context.WithoutCancel(ctx), id, 5*time.Minute) }()
	if err := cl.WaitStatus(ctx, id, "ACTIVE", createPoll, 10*time.Minute); err != nil {
		return zero, err
	}
	if eng != "redis" {
		if err := writerObjects(ctx, cl, id, eng); err != nil {
			return zero, err
		}
	}
	master, masterID, err := masterOf(ctx, cl, id)
	if err != nil {
		return zero, err
	}
	first, err := connectTarget(ctx, eng, master)
	if err != nil {
		return zero, err
	}
	if err := first.write(ctx, 0); err != nil { // creates the table
		first.close()
		return zero, err
	}
	first.close()

	w := &benchWriter{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(wctx, cl, id, eng)
	}()
	if err := sleep(ctx, time.Second); err != nil {
		stop()
		<-done
		return zero, err
	}
	w.mu.Lock()
	w.killed = time.Now()
	w.mu.Unlock()
	if err := kill(id, masterID); err != nil {
		stop()
		<-done
		return zero, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		w.mu.Lock()
		ok := !w.firstOK.IsZero()
		w.mu.Unlock()
		if ok || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	<-done
	if w.firstOK.IsZero() {
		return zero, errors.New("no write was acknowledged within 2 minutes of the kill")
	}
	r := failoverResult{took: w.firstOK.Sub(w.killed), acked: len(w.acked)}

	// What the new primary holds, once the cluster settled.
	if err := cl.WaitStatus(ctx, id, "ACTIVE", 100*time.Millisecond, 5*time.Minute); err != nil {
		return zero, err
	}
	newMaster, _, err := masterOf(ctx, cl, id)
	if err != nil {
		return zero, err
	}
	t, err := connectTarget(ctx, eng, newMaster)
	if err != nil {
		return zero, err
	}
	defer t.close()
	have, err := t.present(ctx)
	if err != nil {
		return zero, err
	}
	for _, n := range w.acked {
		if !have[n] {
			r.lost++
		}
	}
	return r, nil
}

// benchWriter writes numbered rows through the master address the API
// gives, reconnecting (and asking the API again) after any error.
type benchWriter struct {
	mu      sync.Mutex
	acked   []int
	killed  time.Time
	failed  bool      // a write failed after the kill
	firstOK time.Time // the first acknowledged write after that
}

func (w *benchWriter) run(ctx context.Context, cl *dbaasd.Client, id, eng string) {
	var t primaryTarget
	defer func() {
		if t != nil {
			t.close()
		}
	}()
	for n := 1; ctx.Err() == nil; n++ {
		if t == nil {
			addr, _, err := masterOf(ctx, cl, id)
			if err == nil {
				t, err = connectTarget(ctx, eng, addr)
			}
			if err != nil {
				t = nil
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := t.write(wctx, n)
		cancel()
		if err != nil {
			t.close()
			t = nil
			w.mu.Lock()
			w.failed = w.failed || !w.killed.IsZero()
			w.mu.Unlock()
			continue
		}
		now := time.Now()
		w.mu.Lock()
		w.acked = append(w.acked, n)
		// A write may still land on the old primary in the instant after
		// the signal: the new primary's first write follows a failure.
		if w.failed && w.firstOK.IsZero() {
			w.firstOK = now
		}
		w.mu.Unlock()
	}
}

// writerObjects creates the writer's user and database (and grant) through
// the API and waits until they exist.
func writerObjects(ctx context.Context, cl *dbaasd.Client, id, eng string) error {
	user, err := createObject(ctx, cl, "users", "user", map[string]any{"datastore_id": id, "name": fwUser, "password": fwPassword})
	if err != nil {
		return err
	}
	db := map[string]any{"datastore_id": id, "name": fwDatabase}
	if eng == "postgresql" {
		db["owner_id"] = user
	}
	dbID, err := createObject(ctx, cl, "databases", "database", db)
	if err != nil {
		return err
	}
	if eng != "postgresql" {
		if _, err := createObject(ctx, cl, "grants", "grant", map[string]any{"datastore_id": id, "database_id": dbID, "user_id": user}); err != nil {
			return err
		}
	}
	return nil
}

// createObject creates an object of a datastore and waits until ACTIVE.
func createObject(ctx context.Context, cl *dbaasd.Client, path, key string, body map[string]any) (string, error) {
	st, b, err := cl.Do(ctx, http.MethodPost, "/v1/"+path, map[string]any{key: body})
	if err != nil {
		return "", err
	}
	if st != http.StatusCreated {
		return "", &dbaasd.APIError{Op: "create " + key, Status: st, Body: string(b)}
	}
	var r map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r[key].ID == "" {
		return "", fmt.Errorf("create %s: no id in %s", key, b)
	}
	id := r[key].ID
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		st, b, err := cl.Do(ctx, http.MethodGet, "/v1/"+path+"/"+id, nil)
		if err != nil {
			return "", err
		}
		var g map[string]struct {
			Status string `json:"status"`
		}
		if st == http.StatusOK && json.Unmarshal(b, &g) == nil && g[key].Status == "ACTIVE" {
			return id, nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%s %s never became ACTIVE", key, id)
}

// masterOf returns the master address and instance ID the API gives.
func masterOf(ctx context.Context, cl *dbaasd.Client, id string) (addr, instanceID string, err error) {
	b, err := cl.Get(ctx, "/v1/datastores/"+id)
	if err != nil {
		return "", "", err
	}
	var r struct {
		Datastore struct {
			Connection map[string]string `json:"connection"`
			Instances  []struct {
				ID   string `json:"id"`
				Role string `json:"role"`
			} `json:"instances"`
		} `json:"datastore"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", "", err
	}
	for _, in := range r.Datastore.Instances {
		if in.Role == "MASTER" {
			instanceID = in.ID
		}
	}
	addr = r.Datastore.Connection["master"]
	if addr == "" || instanceID == "" {
		return "", "", fmt.Errorf("datastore %s has no master yet", id)
	}
	return addr, instanceID, nil
}

// serverPID finds the server process of a node from its pid file.
func serverPID(dataDir, id, instanceID, eng string) (int, error) {
	node := filepath.Join(dataDir, "clusters", id, "nodes", instanceID[:8])
	if eng == "redis" {
		// dbaasd runs with the default --run-dir.
		node = filepath.Join(layout.Layout{RunDir: daemon.DefaultRunDir()}.ClusterRunDir(id), instanceID[:8])
	}
	for _, pattern := range pidFiles[eng] {
		matches, _ := filepath.Glob(filepath.Join(node, pattern))
		for _, m := range matches {
			if pid := proc.ReadPidFile(m); pid > 0 && proc.Alive(pid) {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no live server pid file under %s", node)
}

// connectTarget connects the writer to a primary.
func connectTarget(ctx context.Context, eng, addr string) (primaryTarget, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	switch eng {
	case "postgresql":
		host, port, _ := strings.Cut(addr, ":")
		c, err := pgx.Connect(cctx, fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable connect_timeout=2",
			host, port, fwUser, fwPassword, fwDatabase))
		if err != nil {
			return nil, err
		}
		return &pgTarget{c}, nil
	case "mysql_native":
		db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s?timeout=2s&readTimeout=2s&writeTimeout=2s", fwUser, fwPassword, addr, fwDatabase))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if err := db.PingContext(cctx); err != nil {
			_ = db.Close()
			return nil, err
		}
		return &myTarget{db}, nil
	case "redis":
		c := goredis.NewClient(&goredis.Options{Addr: addr, Password: redisPassword, DialTimeout: 2 * time.Second,
			ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: -1})
		// Writes go to a master only: a demoted node answers READONLY.
		role, err := c.Do(cctx, "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			_ = c.Close()
			if err == nil {
				err = fmt.Errorf("%s is not a master", addr)
			}
			return nil, err
		}
		return &redisTarget{c}, nil
	}
	return nil, fmt.Errorf("no writer for %s", eng)
}

type pgTarget struct{ c *pgx.Conn }

func (t *pgTarget) write(ctx context.Context, n int) error {
	if n == 0 {
		_, err := t.c.Exec(ctx, "CREATE TABLE IF NOT EXISTS writes (n int PRIMARY KEY)")
		return err
	}
	_, err := t.c.Exec(ctx, "INSERT INTO writes VALUES ($1)", n)
	return err
}

func (t *pgTarget) present(ctx context.Context) (map[int]bool, error) {
	rows, err := t.c.Query(ctx, "SELECT n FROM writes")
	if err != nil {
		return nil, err
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	out := map[int]bool{}
	for _, n := range ns {
		out[int(n)] = true
	}
	return out, err
}

func (t *pgTarget) close() { _ = t.c.Close(context.Background()) }

type myTarget struct{ db *sql.DB }

func (t *myTarget) write(ctx context.Context, n int) error {
	if n == 0 {
		_, err := t.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS writes (n int PRIMARY KEY)")
		return err
	}
	_, err := t.db.ExecContext(ctx, "INSERT INTO writes VALUES (?)", n)
	return err
}

func (t *myTarget) present(ctx context.Context) (map[int]bool, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT n FROM writes")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[int]bool{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

func (t *myTarget) close() { _ = t.db.Close() }

type redisTarget struct{ c *goredis.Client }

// quietRedis drops go-redis's own log lines (a failed dial during a
// failover is expected, and the harness counts it as a failed write).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() {
	goredis.SetLogger(quietRedis{})
	_ = mysql.SetLogger(log.New(io.Discard, "", 0)) // the same for the MySQL driver
}

func (t *redisTarget) write(ctx context.Context, n int) error {
	if n == 0 {
		return t.c.Del(ctx, "writes").Err()
	}
	return t.c.SAdd(ctx, "writes", n).Err()
}

func (t *redisTarget) present(ctx context.Context) (map[int]bool, error) {
	ns, err := t.c.SMembers(ctx, "writes").Result()
	out := map[int]bool{}
	for _, s := range ns {
		var n int
		if _, err := fmt.Sscan(s, &n); err == nil {
			out[n] = true
		}
	}
	return out, err
}

func (t *redisTarget) close() { _ = t.c.Close() }
