package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// The firewall (c.Firewall: IP addresses and CIDRs; empty lets every
// address in) is enforced by MariaDB itself, through the host part of
// accounts: every API user exists once per allowed entry, as
// 'name'@'<pattern>' — a bare address as is, an IPv4 CIDR in MariaDB's
// netmask form ('10.0.0.0/255.0.0.0'), or 'name'@'%' when the list is
// empty. A client from another address is refused at login with "Host …
// is not allowed to connect" (or "Access denied"). IPv6 networks cannot be
// expressed as MariaDB host patterns: IPv6 entries must be single
// addresses (/128), others are refused as invalid. skip_name_resolve is
// on, so patterns are never matched against host names.
//
// The entries of one user share its password hash and its grants. When
// the firewall changes, the driver re-creates each user's entries from an
// existing one (IDENTIFIED VIA mysql_native_password USING '<hash>', the
// hash read from mysql.user) with the same database grants, and drops the
// entries that are no longer allowed: no plaintext password is stored
// anywhere.

// hostPatterns converts firewall entries to MariaDB host patterns.
func hostPatterns(firewall []string) ([]string, error) {
	if len(firewall) == 0 {
		return []string{"%"}, nil
	}
	set := map[string]bool{}
	for _, e := range firewall {
		e = strings.TrimSpace(e)
		p, err := hostPattern(e)
		if err != nil {
			return nil, fmt.Errorf("firewall entry %q: %w: %w", e, engine.ErrInvalid, err)
		}
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func hostPattern(e string) (string, error) {
	if !strings.Contains(e, "/") {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return "", err
		}
		if a.Zone() != "" {
			return "", fmt.Errorf("zoned addresses are not supported")
		}
		return a.Unmap().String(), nil
	}
	p, err := netip.ParsePrefix(e)
	if err != nil {
		return "", err
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	p = netip.PrefixFrom(a, bits).Masked()
	if a.Is4() {
		switch bits {
		case 32:
			return p.Addr().String(), nil
		case 0:
			return "%", nil
		}
		return p.Addr().String() + "/" + net.IP(net.CIDRMask(bits, 32)).String(), nil
	}
	if bits == 128 {
		return p.Addr().String(), nil
	}
	return "", fmt.Errorf("IPv6 networks cannot be enforced by MariaDB host patterns; list single IPv6 addresses")
}

// userEntry is one host entry of an account in mysql.user.
type userEntry struct {
	Host, Plugin, Auth string
}

// reservedUsers are accounts dbaasd or MariaDB own; API users cannot have
// these names and the firewall never touches them.
func reservedUser(name string) bool {
	switch strings.ToLower(name) {
	case "", "root", "mariadb.sys", "mysql", "public", replUser,
		// mariadb-operator's (the Kubernetes runtime).
		"repl", "healthcheck":
		return true
	}
	// dbaasd's own accounts, and the OS account's socket account of
	// clusters made before datastores had OS accounts of their own.
	return strings.HasPrefix(strings.ToLower(name), "dbaasd")
}

// accounts lists the API users with their host entries.
func accounts(ctx context.Context, db *sql.DB, only string) (map[string][]userEntry, error) {
	q := "SELECT User, Host, plugin, authentication_string FROM mysql.user WHERE is_role = 'N'"
	var args []any
	if only != "" {
		q += " AND User = ?"
		args = append(args, only)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqlErr("list users", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string][]userEntry{}
	for rows.Next() {
		var u string
		var e userEntry
		if err := rows.Scan(&u, &e.Host, &e.Plugin, &e.Auth); err != nil {
			return nil, sqlErr("list users", err)
		}
		if !reservedUser(u) {
			out[u] = append(out[u], e)
		}
	}
	return out, rows.Err()
}

// userGrants is the union of the database-level grants of a user's entries
// (as stored: wildcards escaped).
func userGrants(ctx context.Context, db *sql.DB, user string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT DISTINCT Db FROM mysql.db WHERE User = ? ORDER BY Db", user)
	if err != nil {
		return nil, sqlErr("list grants of "+user, err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// syncUserHosts makes the user's entries exactly patterns: missing entries
// are created with plugin/auth and the user's grants, entries with another
// authentication get it (when alter), other entries are dropped.
func syncUserHosts(ctx context.Context, db *sql.DB, user string, entries []userEntry, patterns []string, plugin, auth string, alter bool) error {
	grants, err := userGrants(ctx, db, user)
	if err != nil {
		return err
	}
	have := map[string]userEntry{}
	for _, e := range entries {
		have[e.Host] = e
	}
	ident := " IDENTIFIED VIA " + plugin + " USING " + quoteString(auth)
	for _, p := range patterns {
		acct := account(user, p)
		e, ok := have[p]
		switch {
		case !ok:
			if _, err := db.ExecContext(ctx, "CREATE USER IF NOT EXISTS "+acct+ident); err != nil {
				return sqlErr("create user "+user, err)
			}
			for _, g := range grants {
				if _, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON "+quoteIdent(g)+".* TO "+acct); err != nil {
					return sqlErr("grant "+g+" to "+user, err)
				}
			}
		case alter && (e.Plugin != plugin || e.Auth != auth):
			if _, err := db.ExecContext(ctx, "ALTER USER "+acct+ident); err != nil {
				return sqlErr("alter user "+user, err)
			}
		}
	}
	want := map[string]bool{}
	for _, p := range patterns {
		want[p] = true
	}
	for _, e := range entries {
		if !want[e.Host] {
			if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS "+account(user, e.Host)); err != nil {
				return sqlErr("drop user "+user+"@"+e.Host, err)
			}
		}
	}
	return nil
}

// ReconcileFirewall gives every API user exactly the host entries of the
// cluster's firewall.
func ReconcileFirewall(ctx context.Context, db *sql.DB, c *engine.Cluster) error {
	patterns, err := hostPatterns(c.Firewall)
	if err != nil {
		return err
	}
	users, err := accounts(ctx, db, "")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		entries := users[u]
		src := entries[0]
		if err := syncUserHosts(ctx, db, u, entries, patterns, src.Plugin, src.Auth, false); err != nil {
			return err
		}
	}
	return nil
}

// dropSocketAccounts drops every account that logs in by unix_socket (the
// OS user's name as proof): templates made before datastores had OS
// accounts of their own left mysql@localhost and one for dbaasd's OS user.
// Only the admin account, with the cluster's password, may log in locally.
func dropSocketAccounts(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT User, Host FROM mysql.user WHERE plugin = 'unix_socket' AND User <> ?", adminUser)
	if err != nil {
		return sqlErr("list unix_socket accounts", err)
	}
	var drop []string
	for rows.Next() {
		var u, h string
		if err := rows.Scan(&u, &h); err != nil {
			_ = rows.Close()
			return sqlErr("list unix_socket accounts", err)
		}
		drop = append(drop, account(u, h))
	}
	if err := rows.Err(); err != nil {
		return sqlErr("list unix_socket accounts", err)
	}
	_ = rows.Close()
	for _, a := range drop {
		if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS "+a); err != nil {
			return sqlErr("drop unix_socket account "+a, err)
		}
	}
	return nil
}
