package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// standbyMinimums are the parameters a hot standby needs at least as high
// as on its primary; lowering one must restart the primary first.
var standbyMinimums = []string{"max_connections", "max_worker_processes", "max_wal_senders",
	"max_prepared_transactions", "max_locks_per_transaction"}

// nodeConfigState is what applying the configuration found on one server.
type nodeConfigState struct {
	pending []string       // parameters waiting for a restart
	current map[string]int // running values of standbyMinimums
}

// applyConfig makes every running server use its configuration files:
// servers whose files are newer than their last configuration load are
// reloaded; values the server rejects are rolled back and reported; when a
// parameter needs a restart, the servers are restarted one by one, replicas
// first and the primary last (primary first when a value a standby needs
// as high as its primary's goes down).
func (d *Driver) applyConfig(ctx context.Context, e *env, c *engine.Cluster, results map[string]nodeResult) error {
	// Every server loads its own files: all at once.
	list := make([]nodeConfigState, len(c.Nodes))
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		n := &c.Nodes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			list[i], errs[i] = d.applyNodeConfig(ctx, e, c, pathsOf(n), results[n.ID])
		}()
	}
	wg.Wait()
	// A rejected value is rejected by every node alike (each rolled its
	// file back): the first node's error says it.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	states := map[string]nodeConfigState{}
	for i := range c.Nodes {
		states[c.Nodes[i].ID] = list[i]
	}

	master := c.Master()
	var order []*engine.Node
	for i := range c.Nodes {
		if c.Nodes[i].Role != engine.RoleMaster {
			order = append(order, &c.Nodes[i])
		}
	}
	first := primaryFirst(c, states[master.ID])
	if first {
		order = append([]*engine.Node{master}, order...)
	} else {
		order = append(order, master)
	}
	var catchUp string // WAL position replicas must replay before restarting
	for _, n := range order {
		st := states[n.ID]
		if len(st.pending) == 0 {
			continue
		}
		p := pathsOf(n)
		if catchUp != "" {
			// A standby checks its settings against the primary's as last
			// replayed; it must see the primary's lowered values first.
			if err := waitReplay(ctx, p, catchUp); err != nil {
				d.log.Warn("replica did not catch up before its restart", "node", p.id, "error", err)
			}
		}
		if err := d.restartServer(ctx, e, p, "parameters changed: "+strings.Join(st.pending, ", ")); err != nil {
			return err
		}
		if first && n == master {
			if err := withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
				return conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&catchUp)
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitReplay waits (bounded) until a replica has replayed the WAL up to lsn.
func waitReplay(ctx context.Context, p nodePaths, lsn string) error {
	target := parseLSN(lsn)
	deadline := time.Now().Add(time.Minute)
	for {
		var pos *string
		err := withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&pos)
		})
		if err == nil && pos != nil && parseLSN(*pos) >= target {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replay did not reach %s within a minute (last error: %v)", lsn, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// primaryFirst reports whether the primary must restart before its
// replicas: it restarts and one of standbyMinimums goes down.
func primaryFirst(c *engine.Cluster, st nodeConfigState) bool {
	if len(st.pending) == 0 {
		return false
	}
	_, eff, err := renderConf(confInput{cluster: c, node: pathsOf(c.Master())})
	if err != nil {
		return false
	}
	for _, name := range standbyMinimums {
		if want := confInt(eff, name); want >= 0 && st.current[name] > 0 && want < st.current[name] {
			return true
		}
	}
	return false
}

// applyNodeConfig reloads one server if its configuration files changed
// since it last loaded them (in this Ensure, or before it crashed), rolls
// back a dbaasd.conf the server rejects, and reports what waits for a
// restart.
func (d *Driver) applyNodeConfig(ctx context.Context, e *env, c *engine.Cluster, p nodePaths, res nodeResult) (nodeConfigState, error) {
	st := nodeConfigState{current: map[string]int{}}
	err := d.onProbe(ctx, c, p, func(conn *pgx.Conn) error {
		var loaded time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&loaded); err != nil {
			return sqlError(err, "node %s: read configuration load time", p.id)
		}
		confPath := filepath.Join(p.data, "conf.d", "dbaasd.conf")
		changed := res.changed && !res.started ||
			modTime(confPath).After(loaded) || modTime(filepath.Join(p.data, "pg_hba.conf")).After(loaded)
		if changed {
			d.log.Info("reloading configuration", "node", p.id)
			if err := reloadAndWait(ctx, conn); err != nil {
				return fmt.Errorf("node %s: %w", p.id, err)
			}
		}
		rejected, err := rejectedSettings(ctx, conn)
		if err != nil {
			return fmt.Errorf("node %s: %w", p.id, err)
		}
		if len(rejected) > 0 {
			if changed && res.prevConf != nil {
				if _, werr := e.r.WriteFile(confPath, res.prevConf, 0o600); werr == nil {
					_ = reloadAndWait(ctx, conn)
				}
			}
			return fmt.Errorf("%w: PostgreSQL rejected the configuration: %s",
				engine.ErrInvalid, strings.Join(rejected, "; "))
		}
		rows, err := conn.Query(ctx, "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name")
		if err != nil {
			return sqlError(err, "node %s: read pending restarts", p.id)
		}
		if st.pending, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return sqlError(err, "node %s: read pending restarts", p.id)
		}
		rows, err = conn.Query(ctx, "SELECT name, setting FROM pg_settings WHERE name = ANY($1)", standbyMinimums)
		if err != nil {
			return sqlError(err, "node %s: read settings", p.id)
		}
		var name, value string
		_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
			st.current[name], _ = strconv.Atoi(value)
			return nil
		})
		return err
	})
	return st, err
}

// reloadAndWait makes the server reload its configuration and waits until
// this session has processed the reload, which happens after the
// postmaster's (so new sessions see the new configuration too).
func reloadAndWait(ctx context.Context, conn *pgx.Conn) error {
	var before time.Time
	if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&before); err != nil {
		return sqlError(err, "read configuration load time")
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return sqlError(err, "reload configuration")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&now); err != nil {
			return sqlError(err, "read configuration load time")
		}
		if now.After(before) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not reload its configuration within 10s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rejectedSettings lists the configuration file entries the server could
// not apply for another reason than needing a restart (bad values,
// unknown parameters, syntax errors). A parameter removed from the file
// that only a restart resets is reported by the server without a name
// ("parameter \"x\" cannot be changed without restarting the server"); it
// waits for a restart like the others.
func rejectedSettings(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT coalesce(f.name, ''), coalesce(f.setting, ''), f.error, coalesce(f.sourcefile, ''), coalesce(f.sourceline, 0)
		FROM pg_file_settings f
		WHERE f.error IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM pg_settings s WHERE s.name = f.name AND s.pending_restart)
		  AND NOT (f.name IS NULL AND EXISTS (SELECT 1 FROM pg_settings s WHERE s.pending_restart
		      AND f.error = format('parameter "%s" cannot be changed without restarting the server', s.name)))
		ORDER BY f.seqno`)
	if err != nil {
		return nil, sqlError(err, "read configuration errors")
	}
	type entry struct{ name, value, msg, file string }
	var entries []entry
	var x entry
	var line int32
	_, err = pgx.ForEachRow(rows, []any{&x.name, &x.value, &x.msg, &x.file, &line}, func() error {
		if x.name == "" {
			x.msg = fmt.Sprintf("%s line %d: %s", filepath.Base(x.file), line, x.msg)
		}
		entries = append(entries, x)
		return nil
	})
	if err != nil {
		return nil, sqlError(err, "read configuration errors")
	}
	var out []string
	for _, e := range entries {
		if e.name == "" {
			out = append(out, e.msg)
			continue
		}
		out = append(out, fmt.Sprintf("%s = %q: %s", e.name, e.value, explainSetting(ctx, conn, e.name, e.value, e.msg)))
	}
	return out, nil
}

// explainSetting asks the server why it rejects a value, by trying it in
// a transaction that is rolled back; parameters that cannot be set in a
// session keep the generic message.
func explainSetting(ctx context.Context, conn *pgx.Conn, name, value, generic string) string {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return generic
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, "SELECT set_config($1, $2, true)", name, value)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != "55P02" && pgErr.Code != "42501" {
		msg := pgErr.Message
		if pgErr.Hint != "" {
			msg += " (" + pgErr.Hint + ")"
		}
		return msg
	}
	return generic + " (see the server log for the reason)"
}
