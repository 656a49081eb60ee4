package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
)

func (o *ops) Projects() Repo[model.Project] { return repo[model.Project]{o.t.projects, o} }
func (o *ops) DatastoreTypes() Repo[model.DatastoreType] {
	return repo[model.DatastoreType]{o.t.types, o}
}
func (o *ops) Flavors() Repo[model.FlavorSpec] { return repo[model.FlavorSpec]{o.t.flavors, o} }
func (o *ops) AvailableExtensions() Repo[model.AvailableExtension] {
	return repo[model.AvailableExtension]{o.t.availExts, o}
}
func (o *ops) ConfigurationParameters() Repo[model.ConfigurationParameter] {
	return repo[model.ConfigurationParameter]{o.t.params, o}
}
func (o *ops) Datastores() Repo[model.Datastore] { return repo[model.Datastore]{o.t.datastores, o} }

// DatastoreSummaries implements Tx. Outside transactions, lists come from
// memory while no datastore changed (summaryCache).
func (o *ops) DatastoreSummaries() Reader[model.Datastore] {
	r := repo[model.Datastore]{o.t.dsSummary, o}
	if o.tx != nil || o.sums == nil {
		return r
	}
	return cachedSummaries{repo: r, c: o.sums}
}

// DatastoresWithoutSecrets implements Tx.
func (o *ops) DatastoresWithoutSecrets() Reader[model.Datastore] {
	return repo[model.Datastore]{o.t.dsPublic, o}
}

func (o *ops) Instances() Repo[model.Instance]   { return repo[model.Instance]{o.t.instances, o} }
func (o *ops) Users() Repo[model.User]           { return repo[model.User]{o.t.users, o} }
func (o *ops) Databases() Repo[model.Database]   { return repo[model.Database]{o.t.databases, o} }
func (o *ops) Grants() Repo[model.Grant]         { return repo[model.Grant]{o.t.grants, o} }
func (o *ops) Extensions() Repo[model.Extension] { return repo[model.Extension]{o.t.extensions, o} }
func (o *ops) Slots() Repo[model.Slot]           { return repo[model.Slot]{o.t.slots, o} }
func (o *ops) Topics() Repo[model.Topic]         { return repo[model.Topic]{o.t.topics, o} }
func (o *ops) ACLs() Repo[model.ACL]             { return repo[model.ACL]{o.t.acls, o} }
func (o *ops) MetricsTokens() Repo[model.MetricsToken] {
	return repo[model.MetricsToken]{o.t.metricTokens, o}
}
func (o *ops) Actions() Repo[model.Action] { return repo[model.Action]{o.t.actions, o} }

// LockProject implements Tx. On PostgreSQL it takes a row lock on the
// project; SQLite transactions already hold the database's write lock from
// their start (immediate mode).
func (o *ops) LockProject(ctx context.Context, projectID string) error {
	if !o.inTx || o.dialect != Postgres {
		return nil
	}
	var id string
	err := o.queryRow(ctx, "SELECT id FROM projects WHERE id = ? FOR UPDATE", projectID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock project %s: %w", projectID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock project %s: %w", projectID, err)
	}
	return nil
}

// Usage implements Tx. Only the parts asked for are counted (all when
// none are named), so a quota check costs what the request adds.
func (o *ops) Usage(ctx context.Context, projectID string, only ...string) (Usage, error) {
	var u Usage
	want := func(names ...string) bool {
		if len(only) == 0 {
			return true
		}
		for _, n := range names {
			for _, o := range only {
				if n == o {
					return true
				}
			}
		}
		return false
	}
	if want("datastores", "cores", "ram", "disk_local", "disk_network_ultra") {
		err := o.queryRow(ctx, `SELECT
			COUNT(*),
			COALESCE(SUM(vcpus * node_count), 0),
			COALESCE(SUM(ram * node_count), 0),
			COALESCE(SUM(CASE WHEN disk_type = 'network-ultra' THEN 0 ELSE disk * node_count END), 0),
			COALESCE(SUM(CASE WHEN disk_type = 'network-ultra' THEN disk * node_count ELSE 0 END), 0)
			FROM datastores WHERE project_id = ? AND deleted = ?`, projectID, false).
			Scan(&u.Datastores, &u.Cores, &u.RAM, &u.DiskLocal, &u.DiskNetworkUltra)
		if err != nil {
			return u, fmt.Errorf("usage of %s: %w", projectID, err)
		}
	}
	// The rows of the counted tables are counted by triggers
	// (project_counts): one read instead of a scan of the project's rows.
	counts := map[string]*int64{"databases": &u.Databases, "users": &u.Users, "topics": &u.Topics,
		"acls": &u.ACLs, "prometheus_metrics_tokens": &u.MetricsTokens}
	for name := range counts {
		if !want(name) {
			delete(counts, name)
		}
	}
	if len(counts) > 0 {
		if err := o.readCounts(ctx, projectID, counts); err != nil {
			return u, fmt.Errorf("usage of %s: %w", projectID, err)
		}
	}
	if !want("firewall_rules") {
		return u, nil
	}
	// Firewall rules are stored as a JSON list per datastore.
	rows, err := o.query(ctx, "SELECT firewall FROM datastores WHERE project_id = ? AND deleted = ?", projectID, false)
	if err != nil {
		return u, fmt.Errorf("usage of %s: %w", projectID, err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var fw string
		var list []string
		if err := rows.Scan(&fw); err != nil {
			return u, fmt.Errorf("usage of %s: %w", projectID, err)
		}
		if err := fromJSON(fw, &list); err != nil {
			return u, err
		}
		u.FirewallRules += int64(len(list))
	}
	return u, rows.Err()
}

// Quotas implements Tx.
func (o *ops) Quotas(ctx context.Context, projectID string) (map[string]int64, error) {
	rows, err := o.query(ctx, "SELECT resource, lim FROM quotas WHERE project_id = ?", projectID)
	if err != nil {
		return nil, fmt.Errorf("quotas of %s: %w", projectID, err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var l int64
		if err := rows.Scan(&r, &l); err != nil {
			return nil, fmt.Errorf("quotas of %s: %w", projectID, err)
		}
		out[r] = l
	}
	return out, rows.Err()
}

// SetQuota implements Tx.
func (o *ops) SetQuota(ctx context.Context, q model.Quota) error {
	_, err := o.exec(ctx, `INSERT INTO quotas (project_id, resource, lim) VALUES (?, ?, ?)
		ON CONFLICT (project_id, resource) DO UPDATE SET lim = excluded.lim`, q.ProjectID, q.Resource, q.Limit)
	if err != nil {
		return fmt.Errorf("set quota: %w", err)
	}
	return nil
}

// PutToken implements Tx.
func (o *ops) PutToken(ctx context.Context, t model.Token) error {
	_, err := o.exec(ctx, `INSERT INTO tokens (hash, project_id, admin, source, user_name, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET project_id = excluded.project_id, admin = excluded.admin,
		source = excluded.source, user_name = excluded.user_name, expires_at = excluded.expires_at`,
		t.Hash, t.ProjectID, t.Admin, t.Source, t.UserName, tsPtr(t.ExpiresAt), ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return nil
}

// Token implements Tx.
func (o *ops) Token(ctx context.Context, hash string) (*model.Token, error) {
	var t model.Token
	var exp sql.NullInt64
	var ca int64
	err := o.queryRow(ctx, `SELECT hash, project_id, admin, source, user_name, expires_at, created_at
		FROM tokens WHERE hash = ?`, hash).Scan(&t.Hash, &t.ProjectID, &t.Admin, &t.Source, &t.UserName, &exp, &ca)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	t.ExpiresAt, t.CreatedAt = fromTSPtr(exp), fromTS(ca)
	return &t, nil
}

// DeleteToken implements Tx.
func (o *ops) DeleteToken(ctx context.Context, hash string) error {
	if _, err := o.exec(ctx, "DELETE FROM tokens WHERE hash = ?", hash); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// CountTokens implements Tx.
func (o *ops) CountTokens(ctx context.Context, source string) (int, error) {
	q, args := "SELECT COUNT(*) FROM tokens", []any{}
	if source != "" {
		q, args = q+" WHERE source = ?", append(args, source)
	}
	var n int
	if err := o.queryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// PruneTokens implements Tx.
func (o *ops) PruneTokens(ctx context.Context, source string, keep []string) error {
	q, args := "DELETE FROM tokens WHERE source = ?", []any{source}
	if len(keep) > 0 {
		q += " AND hash NOT IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(keep)), ", ") + ")"
		for _, k := range keep {
			args = append(args, k)
		}
	}
	if _, err := o.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("prune tokens: %w", err)
	}
	return nil
}

// DeleteExpiredTokens implements Tx.
func (o *ops) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := o.exec(ctx, "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?", ts(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AllocatePort implements Tx.
func (o *ops) AllocatePort(ctx context.Context, host string, lo, hi int, datastoreID, owner string, isFree func(int) bool) (int, error) {
	var port int
	err := o.queryRow(ctx, "SELECT port FROM ports WHERE owner = ? AND host = ?", owner, host).Scan(&port)
	if err == nil {
		return port, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	used := map[int]bool{}
	rows, err := o.query(ctx, "SELECT port FROM ports WHERE host = ?", host)
	if err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("allocate port: %w", err)
		}
		used[p] = true
	}
	// Next closed the rows when it returned false; Err tells why it stopped.
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	for p := lo; p <= hi; p++ {
		if used[p] || (isFree != nil && !isFree(p)) {
			continue
		}
		_, err := o.exec(ctx, "INSERT INTO ports (host, port, datastore_id, owner) VALUES (?, ?, ?, ?)", host, p, datastoreID, owner)
		if err == nil {
			return p, nil
		}
		if !isUniqueViolation(err) {
			return 0, fmt.Errorf("allocate port: %w", err)
		}
	}
	return 0, fmt.Errorf("allocate port: no free port on %s in %d-%d", host, lo, hi)
}

// ReleasePorts implements Tx.
func (o *ops) ReleasePorts(ctx context.Context, datastoreID string, owners ...string) error {
	if len(owners) == 0 {
		if _, err := o.exec(ctx, "DELETE FROM ports WHERE datastore_id = ?", datastoreID); err != nil {
			return fmt.Errorf("release ports: %w", err)
		}
		return nil
	}
	for _, ow := range owners {
		// An owner's further ports ("<owner>/<name>") go with it.
		if _, err := o.exec(ctx, "DELETE FROM ports WHERE datastore_id = ? AND (owner = ? OR substr(owner, 1, ?) = ?)",
			datastoreID, ow, len(ow)+1, ow+"/"); err != nil {
			return fmt.Errorf("release ports: %w", err)
		}
	}
	return nil
}

// ClaimAction implements Tx. Actions of one datastore run one at a time in
// the order they were asked for, except that a failover does not wait for
// a backup (model.ActDatastoreBackup). The claim is an optimistic conditional update,
// so it is safe across several dbaasd replicas on one PostgreSQL store
// without row locks held across the engine work. The backup limit counts
// the backups of every replica; two replicas claiming at the same moment
// may each see room for one more, so it can be exceeded by that race.
func (o *ops) ClaimAction(ctx context.Context, owner string, now, leaseUntil time.Time, maxBackups int) (*model.Action, error) {
	if maxBackups <= 0 {
		maxBackups = math.MaxInt32
	}
	for attempt := 0; attempt < 5; attempt++ {
		var id string
		err := o.queryRow(ctx, `SELECT a.id FROM actions a
			WHERE a.status IN ('PENDING', 'IN_PROGRESS')
			  AND (a.lease_until IS NULL OR a.lease_until < ?)
			  AND (a.not_before IS NULL OR a.not_before <= ?)
			  AND (a.name <> ? OR (SELECT count(*) FROM actions c
				WHERE c.status = 'IN_PROGRESS' AND c.name = ? AND c.lease_until >= ?) < ?)
			  AND NOT EXISTS (SELECT 1 FROM actions b
				WHERE b.datastore_id = a.datastore_id AND b.status IN ('PENDING', 'IN_PROGRESS')
				  AND (b.created_at < a.created_at OR (b.created_at = a.created_at AND b.id < a.id))
				  AND NOT (a.name = ? AND b.name = ?))
			ORDER BY a.created_at, a.id LIMIT 1`, ts(now), ts(now),
			model.ActDatastoreBackup, model.ActDatastoreBackup, ts(now), maxBackups,
			model.ActDatastoreFailover, model.ActDatastoreBackup).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("claim action: %w", err)
		}
		res, err := o.exec(ctx, `UPDATE actions SET status = 'IN_PROGRESS', lease_owner = ?, lease_until = ?,
			start_time = COALESCE(start_time, ?), attempts = attempts + 1, updated_at = ?
			WHERE id = ? AND status IN ('PENDING', 'IN_PROGRESS') AND (lease_until IS NULL OR lease_until < ?)`,
			owner, ts(leaseUntil), ts(now), ts(now), id, ts(now))
		if err != nil {
			return nil, fmt.Errorf("claim action: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return o.Actions().Get(ctx, id)
		}
		// Another worker claimed it first: look again.
	}
	return nil, nil
}

// RenewLease implements Tx.
func (o *ops) RenewLease(ctx context.Context, actionID, owner string, leaseUntil time.Time) error {
	res, err := o.exec(ctx, "UPDATE actions SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'IN_PROGRESS'",
		ts(leaseUntil), actionID, owner)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("renew lease of action %s: lease lost: %w", actionID, ErrNotFound)
	}
	return nil
}
