package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// templateCopyFile, in a replica's node directory, marks data that is a
// copy of the template which has not streamed from the primary yet (see
// createNodes). awaitTemplateReplicas removes it once the replica streams,
// or rebuilds the replica from the primary when it does not.
const templateCopyFile = "template-copy"

// templateStreamWait bounds how long a replica made from the template may
// take to stream from its primary before it is rebuilt with pg_basebackup
// (see Options.TemplateStreamWait).
func (d *Driver) templateStreamWait() time.Duration {
	if d.opts.TemplateStreamWait > 0 {
		return d.opts.TemplateStreamWait
	}
	return 30 * time.Second
}

// createNodes gives the desired master data when it has none. In a new
// cluster every node is then a copy of the template, all made at once, the
// replicas' copies standbys (standby.signal): the primary starts from the
// same files (same system identifier, same WAL up to the template's
// checkpoint), and each replica streams from that checkpoint on, through
// its slot, everything the primary writes. No replica waits for a copy of
// the running primary, and every server can start at once.
//
// A replica's template copy is marked (templateCopyFile) until it streams:
// a create that stopped half-way (dbaasd crashed) leaves copies that count
// as no data here, so the next Ensure completes the new cluster; a primary
// without data while a replica has data of its own is refused, since
// starting an empty primary would replace that data.
func (d *Driver) createNodes(ctx context.Context, e *env, c *engine.Cluster) error {
	mp := pathsOf(c.Master())
	if err := d.prepareNodeDir(ctx, e, c, mp); err != nil {
		return err
	}
	if hasData(mp) {
		return nil
	}
	for i := range c.Nodes {
		if o := pathsOf(&c.Nodes[i]); o.id != mp.id && hasData(o) && !exists(filepath.Join(o.dir, templateCopyFile)) {
			return fmt.Errorf("node %s: the primary's data directory %s is missing while node %s has data; "+
				"refusing to start an empty primary that would replace it (make node %s the %s)",
				mp.id, mp.data, o.id, o.id, engine.RoleMaster)
		}
	}
	d.log.Info("creating cluster nodes from template", "datastore_id", c.ID, "nodes", len(c.Nodes))
	nodes := make([]*engine.Node, len(c.Nodes))
	for i := range c.Nodes {
		nodes[i] = &c.Nodes[i]
	}
	return proc.Parallel(nodes, func(n *engine.Node) error {
		p := pathsOf(n)
		if err := d.prepareNodeDir(ctx, e, c, p); err != nil {
			return err
		}
		if !hasData(p) {
			return d.createFromTemplate(ctx, e, p, n.Role != engine.RoleMaster)
		}
		return nil
	})
}

// createFromTemplate makes a node's data directory a copy of the template,
// a standby's (standby.signal, and the node marked as a template copy)
// when standby is set. The copy goes to data.tmp first and is renamed when
// complete, so a crash never leaves a half-copied data directory behind.
func (d *Driver) createFromTemplate(ctx context.Context, e *env, p nodePaths, standby bool) error {
	tmpl, err := d.templateData(ctx, e)
	if err != nil {
		return err
	}
	tmp := p.data + ".tmp"
	if err := e.r.RemoveAll(tmp); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	if err := e.r.CopyTree(tmpl, tmp); err != nil {
		return fmt.Errorf("node %s: copy template: %w", p.id, err)
	}
	if standby {
		if _, err := e.r.WriteFile(filepath.Join(tmp, "standby.signal"), nil, 0o600); err != nil {
			return err
		}
		if _, err := e.r.WriteFile(filepath.Join(p.dir, templateCopyFile), nil, 0o600); err != nil {
			return err
		}
	}
	if err := e.r.Rename(tmp, p.data); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	return nil
}

// awaitTemplateReplicas waits until the replicas made from the template
// stream from the primary, and unmarks them. A replica's first try to
// stream may come before the primary accepted connections or had its
// slot; it tries again only after wal_retrieve_retry_interval, unless
// woken: a configuration reload wakes its startup process, which then
// tries at once. A replica still not streaming after templateStreamWait
// (its copy needs WAL the primary no longer has, say) is rebuilt from the
// primary.
func (d *Driver) awaitTemplateReplicas(ctx context.Context, e *env, c *engine.Cluster, primary nodePaths, results map[string]nodeResult) error {
	var waiting []*engine.Node
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Role != engine.RoleMaster && exists(filepath.Join(n.Dir, templateCopyFile)) {
			waiting = append(waiting, n)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	err := d.onProbe(ctx, c, primary, func(conn *pgx.Conn) error {
		deadline := time.Now().Add(d.templateStreamWait())
		var nudged time.Time
		for {
			streaming, err := streamingReplicas(ctx, conn)
			if err != nil {
				return err
			}
			rest := waiting[:0]
			for _, n := range waiting {
				if !streaming[slotName(n.ID)] {
					rest = append(rest, n)
					continue
				}
				if err := e.r.Remove(filepath.Join(n.Dir, templateCopyFile)); err != nil {
					return fmt.Errorf("node %s: %w", n.ID, err)
				}
			}
			waiting = rest
			if len(waiting) == 0 || time.Now().After(deadline) {
				return nil
			}
			if time.Since(nudged) >= 500*time.Millisecond {
				nudged = time.Now()
				for _, n := range waiting {
					_ = d.onProbe(ctx, c, pathsOf(n), func(rc *pgx.Conn) error {
						_, err := rc.Exec(ctx, "SELECT pg_reload_conf()")
						return err
					})
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	if err != nil || len(waiting) == 0 {
		return err
	}
	sysID, err := controlSysID(primary.data)
	if err != nil {
		return fmt.Errorf("node %s: %w", primary.id, err)
	}
	ready := func() error { return nil }
	for _, n := range waiting {
		p := pathsOf(n)
		if err := d.dropReplicaData(ctx, e, c, p, fmt.Sprintf("its copy of the template did not stream from the primary within %s", d.templateStreamWait())); err != nil {
			return err
		}
		res, err := d.ensureReplica(ctx, e, c, n, primary, sysID, ready)
		if err != nil {
			return err
		}
		results[n.ID] = res
	}
	return nil
}

// streamingReplicas returns the application names of the replicas
// streaming from the primary conn is connected to.
func streamingReplicas(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")
	if err != nil {
		return nil, sqlError(err, "list streaming replicas")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, sqlError(err, "list streaming replicas")
	}
	out := make(map[string]bool, len(names))
	for _, s := range names {
		out[s] = true
	}
	return out, nil
}
