package cnpg

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// waitApplied waits until the primary runs with the desired parameters
// (none waiting for a restart) and its pg_hba.conf holds the desired
// rules: what the operator applied, read from the server itself.
func (d *Driver) waitApplied(ctx context.Context, c *engine.Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	params := parameters(c)
	hba, err := hbaRules(c.Firewall, d.opts.AdminCIDRs, d.opts.TrustedCIDRs)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	for {
		var why string
		err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
			rows, err := conn.Query(ctx, `SELECT name, setting, vartype, coalesce(unit, '') FROM pg_settings WHERE name = ANY($1)`, names)
			if err != nil {
				return err
			}
			have := map[string][2]string{}
			var n, v, t, u string
			if _, err := pgx.ForEachRow(rows, []any{&n, &v, &t, &u}, func() error {
				if _, ok := memoryKB(params[n]); ok {
					v = withUnit(v, u)
				}
				have[n] = [2]string{v, t}
				return nil
			}); err != nil {
				return err
			}
			for _, k := range names {
				h, ok := have[k]
				if !ok {
					return fmt.Errorf("%w: unknown parameter %s", engine.ErrInvalid, k)
				}
				if !sameSetting(h[1], h[0], params[k]) {
					why = fmt.Sprintf("parameter %s is %s, want %s", k, h[0], params[k])
					return nil
				}
			}
			var pending []string
			rows, err = conn.Query(ctx, `SELECT name FROM pg_settings WHERE pending_restart`)
			if err != nil {
				return err
			}
			if pending, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			if len(pending) > 0 {
				why = "restart pending for " + strings.Join(pending, ", ")
				return nil
			}
			var file string
			if err := conn.QueryRow(ctx, `SELECT pg_read_file(current_setting('hba_file'))`).Scan(&file); err != nil {
				return err
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(file, "\n") {
				lines[strings.Join(strings.Fields(l), " ")] = true
			}
			for _, r := range hba {
				if !lines[r] {
					why = "pg_hba.conf lacks " + r
					return nil
				}
			}
			// The file is what the operator wrote; the rules hold once the
			// server has reloaded it.
			var loaded bool
			if err := conn.QueryRow(ctx, `SELECT pg_conf_load_time() >= (pg_stat_file(current_setting('hba_file'))).modification`).Scan(&loaded); err != nil {
				return err
			}
			if !loaded {
				why = "pg_hba.conf not reloaded yet"
			}
			return nil
		})
		if err == nil && why == "" {
			return nil
		}
		if err != nil {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: the configuration is not applied: %s: %w", c.ID, why, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// withUnit renders a memory setting of pg_settings (a number of its
// unit) in kB, to compare it with a desired value that has a unit; other
// settings as they are.
func withUnit(setting, unit string) string {
	kb := map[string]int64{"kB": 1, "8kB": 8, "MB": 1024, "16MB": 16 * 1024}[unit]
	n, err := strconv.ParseInt(setting, 10, 64)
	if kb == 0 || err != nil {
		return setting
	}
	return strconv.FormatInt(n*kb, 10) + "kB"
}

// memoryKB reads a value with a memory unit as kB (ok false without one).
func memoryKB(v string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		kb     float64
	}{{"kB", 1}, {"MB", 1024}, {"GB", 1 << 20}, {"TB", 1 << 30}} {
		if num, ok := strings.CutSuffix(strings.TrimSpace(v), u.suffix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			return n * u.kb, err == nil
		}
	}
	return 0, false
}

// sameSetting compares a pg_settings value with a desired one.
func sameSetting(vartype, have, want string) bool {
	switch vartype {
	case "bool":
		on := func(s string) bool {
			switch strings.ToLower(s) {
			case "on", "true", "yes", "1":
				return true
			}
			return false
		}
		return on(have) == on(want)
	case "integer", "real":
		if a, ok := memoryKB(have); ok {
			if b, ok := memoryKB(want); ok {
				return a == b
			}
		}
		a, err1 := strconv.ParseFloat(have, 64)
		b, err2 := strconv.ParseFloat(want, 64)
		if err1 != nil || err2 != nil {
			return true // a value with a unit: the server's own rendering
		}
		return a == b
	case "enum":
		return strings.EqualFold(have, want)
	}
	return true // strings are normalised by the server (quoting, lists)
}
