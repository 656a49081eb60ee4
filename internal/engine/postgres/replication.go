package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// serverState is what a running server says of itself.
type serverState struct {
	inRecovery bool
}

func queryState(ctx context.Context, p nodePaths) (serverState, error) {
	var st serverState
	err := withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&st.inRecovery)
	})
	return st, err
}

// nodeState is queryState on the connection the driver keeps to a node
// of c (see onProbe).
func (d *Driver) nodeState(ctx context.Context, c *engine.Cluster, p nodePaths) (serverState, error) {
	var st serverState
	err := d.onProbe(ctx, c, p, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&st.inRecovery)
	})
	return st, err
}

// controlSysID reads the database system identifier from a data
// directory's pg_control (its first field, in the machine's byte order).
// Every copy of one cluster shares it; a different one means another cluster.
func controlSysID(data string) (uint64, error) {
	f, err := os.Open(filepath.Join(data, "global", "pg_control"))
	if err != nil {
		return 0, fmt.Errorf("read system identifier: %w", err)
	}
	defer func() { _ = f.Close() }()
	var b [8]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return 0, fmt.Errorf("read system identifier: %w", err)
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// promote turns the desired master into the primary. Any other node still
// running as a primary is stopped first, so that two primaries never run at
// once; Ensure then rebuilds it as a replica.
func (d *Driver) promote(ctx context.Context, e *env, c *engine.Cluster, p nodePaths) error {
	for i := range c.Nodes {
		o := pathsOf(&c.Nodes[i])
		if o.id == p.id || serverPID(o) == 0 {
			continue
		}
		if st, err := d.nodeState(ctx, c, o); err == nil && !st.inRecovery {
			d.log.Warn("stopping a former primary before promoting the new one", "datastore_id", c.ID, "node", o.id, "new_primary", p.id)
			if err := d.stopServer(ctx, e, o); err != nil {
				return err
			}
		}
	}
	d.log.Info("promoting node to primary", "datastore_id", c.ID, "node", p.id)
	if _, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "promote", "-w", "-t", "120", "-D", p.data); err != nil {
		return fmt.Errorf("node %s: promote: %w; server log: %s", p.id, err, serverLogTail(e.r, p))
	}
	return nil
}

// ensureReplica makes a replica exist as a copy of the primary, streaming
// through its own physical slot, and run. A replica that is not a copy of
// the primary (another system identifier) or is not a standby (a former
// primary) is rebuilt. A replica whose data is a standby of the primary
// starts at once; one that needs a copy of the primary first waits for
// awaitPrimary (the primary running, with the replicas' slots).
func (d *Driver) ensureReplica(ctx context.Context, e *env, c *engine.Cluster, n *engine.Node, primary nodePaths, sysID uint64, awaitPrimary func() error) (nodeResult, error) {
	var res nodeResult
	p := pathsOf(n)
	if err := d.prepareNodeDir(ctx, e, c, p); err != nil {
		return res, err
	}
	if hasData(p) {
		rebuild := ""
		if id, err := controlSysID(p.data); err != nil || id != sysID {
			rebuild = "it is not a copy of the primary"
		} else if !exists(filepath.Join(p.data, "standby.signal")) {
			// Promotion removes standby.signal: this was a primary.
			rebuild = "it is not a standby"
		}
		if rebuild != "" {
			if err := awaitPrimary(); err != nil {
				return res, err
			}
			if err := d.dropReplicaData(ctx, e, c, p, rebuild); err != nil {
				return res, err
			}
		}
	}
	if !hasData(p) {
		if err := awaitPrimary(); err != nil {
			return res, err
		}
		if err := d.baseBackup(ctx, e, c, p, primary); err != nil {
			return res, err
		}
	}
	var err error
	if res.prevConf, res.changed, err = d.writeNodeFiles(e, c, n, &primary); err != nil {
		return res, err
	}
	if res.started, _, err = d.ensureRunning(ctx, e, c, p); err != nil {
		return res, err
	}
	return res, nil
}

// dropReplicaData stops a replica's server and removes its data, to
// rebuild it from the primary.
func (d *Driver) dropReplicaData(ctx context.Context, e *env, c *engine.Cluster, p nodePaths, why string) error {
	d.log.Warn("rebuilding replica from the primary", "datastore_id", c.ID, "node", p.id, "reason", why)
	if err := d.stopServer(ctx, e, p); err != nil {
		return err
	}
	if err := e.r.RemoveAll(p.data); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	return nil
}

// ensureReplicaSlots creates on the primary the physical slot of every
// replica (before any replica copies or streams from it).
func (d *Driver) ensureReplicaSlots(ctx context.Context, c *engine.Cluster, primary nodePaths) error {
	return d.onProbe(ctx, c, primary, func(conn *pgx.Conn) error {
		for _, n := range c.Nodes {
			if n.Role == engine.RoleMaster {
				continue
			}
			if err := ensurePhysicalSlot(ctx, conn, slotName(n.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// baseBackup copies the primary into a replica's data directory with
// pg_basebackup over the primary's Unix socket, streaming WAL through the
// replica's slot. It builds data.tmp and renames it when complete.
func (d *Driver) baseBackup(ctx context.Context, e *env, c *engine.Cluster, p, primary nodePaths) error {
	tmp := p.data + ".tmp"
	if err := e.r.RemoveAll(tmp); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	d.log.Info("creating replica with pg_basebackup", "datastore_id", c.ID, "node", p.id, "primary", primary.id)
	if _, err := e.r.Run(ctx, e.inst.bin("pg_basebackup"), "-h", primary.socketDir, "-p", fmt.Sprint(primary.port),
		"-U", superuser, "-w", "-D", tmp, "-X", "stream", "-S", slotName(p.id), "-c", "fast"); err != nil {
		_ = e.r.RemoveAll(tmp)
		return fmt.Errorf("node %s: copy the primary: %w", p.id, err)
	}
	if _, err := e.r.WriteFile(filepath.Join(tmp, "standby.signal"), nil, 0o600); err != nil {
		return err
	}
	if err := e.r.Rename(tmp, p.data); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	// The data is the primary's now, not a template copy.
	return e.r.Remove(filepath.Join(p.dir, templateCopyFile))
}

// ensurePhysicalSlot creates a physical slot that reserves WAL right away.
func ensurePhysicalSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, `SELECT pg_create_physical_replication_slot($1, true)
		WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, name)
	if err != nil {
		return sqlError(err, "create replication slot %s", name)
	}
	return nil
}

// dropSlot drops a replication slot, ending the session that uses it.
func dropSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pid *int32
		err := conn.QueryRow(ctx, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlError(err, "drop replication slot %s", name)
		}
		if pid == nil {
			if _, err = conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", name); err == nil {
				return nil
			}
		} else {
			_, err = conn.Exec(ctx, "SELECT pg_terminate_backend($1)", *pid)
		}
		if time.Now().After(deadline) {
			return sqlError(err, "drop replication slot %s (still in use)", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeStaleNodes stops and deletes the node directories under
// <c.Dir>/nodes that are no longer desired, and drops the physical slots
// on the primary that belong to no desired replica.
func (d *Driver) removeStaleNodes(ctx context.Context, e *env, c *engine.Cluster, primary nodePaths) error {
	desired := map[string]bool{}
	wantSlots := map[string]bool{}
	for _, n := range c.Nodes {
		desired[filepath.Clean(n.Dir)] = true
		if n.Role != engine.RoleMaster {
			wantSlots[slotName(n.ID)] = true
		}
	}
	for _, p := range staleNodes(c, desired) {
		d.log.Info("removing node that is no longer desired", "datastore_id", c.ID, "node", p.id, "dir", p.dir)
		if err := d.removeNode(ctx, e, c, p); err != nil {
			return err
		}
	}
	return d.onProbe(ctx, c, primary, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT slot_name FROM pg_replication_slots
			WHERE slot_type = 'physical' AND starts_with(slot_name, $1)`, internalSlotPrefix)
		if err != nil {
			return sqlError(err, "list replication slots")
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return sqlError(err, "list replication slots")
		}
		for _, s := range names {
			if !wantSlots[s] {
				if err := dropSlot(ctx, conn, s); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// staleNodes lists the node directories under <c.Dir>/nodes that are not
// desired and are ours (they carry a marker or a data directory).
func staleNodes(c *engine.Cluster, desired map[string]bool) []nodePaths {
	entries, _ := os.ReadDir(filepath.Join(c.Dir, "nodes"))
	var out []nodePaths
	for _, ent := range entries {
		dir := filepath.Join(c.Dir, "nodes", ent.Name())
		if !ent.IsDir() || desired[dir] || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		m, err := readMarker(dir)
		if err != nil {
			if !exists(filepath.Join(dir, "data", "PG_VERSION")) {
				continue
			}
			m = nodeMarker{NodeID: ent.Name()}
		}
		out = append(out, pathsFromMarker(c, dir, m))
	}
	return out
}

// removeNode stops a node's server and deletes its files.
func (d *Driver) removeNode(ctx context.Context, e *env, c *engine.Cluster, p nodePaths) error {
	if err := d.stopServer(ctx, e, p); err != nil {
		return err
	}
	if err := removeSocketDir(e.r, c, p); err != nil {
		return err
	}
	if err := e.r.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("node %s: remove %s: %w", p.id, p.dir, err)
	}
	return nil
}
