package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// A semi-synchronous ("native") cluster: the MASTER node is the primary
// (read_only = OFF); every REPLICA replicates with GTID (MASTER_USE_GTID =
// slave_pos) as dbaasd_repl. A new cluster starts all its nodes at once
// from the template, the replicas from the primary's first position; a
// replica added later is cloned from the primary with mariabackup.
// Replicas run with read_only = ON, which stops API users (they hold no
// global privileges) but not accounts with READ_ONLY ADMIN: MariaDB has no
// super_read_only. A commit on the primary waits for one replica's
// acknowledgement (AFTER_SYNC) for up to rpl_semi_sync_master_timeout,
// then falls back to asynchronous replication until a replica catches up.
//
// dbaasd_repl has REPLICATION SLAVE only, one entry per address of the
// cluster's nodes (never '%': the firewall does not apply to it, so it
// logs in from the nodes only), and a password derived from the cluster's
// admin password that no API user knows (MariaDB keeps it in the
// replica's master.info, inside the 0700 data directory). API users
// cannot take its name (reservedUser). Replication traffic is not
// encrypted: the nodes of a cluster share one host, where other local
// users cannot read loopback traffic.

const (
	// replWaitTimeout bounds waiting for a replica to connect to its
	// primary, or for a replica being promoted to apply its relay log.
	replWaitTimeout = time.Minute
	// streamingProof is how long a replica's threads must run without an
	// error for it to count as replicating before it caught up with the
	// primary (a refused position fails within milliseconds).
	streamingProof = 2 * time.Second
)

func (d *Driver) ensureNative(ctx context.Context, c *engine.Cluster, nodes []*node, user map[string]string) error {
	var master *node
	var replicas []*node
	for _, n := range nodes {
		if n.Role == engine.RoleMaster && master == nil {
			master = n
		} else {
			replicas = append(replicas, n)
		}
	}
	// Anything else that takes writes (a former primary, desired or not)
	// stops taking them before another node is promoted.
	desired := map[string]bool{}
	for _, n := range nodes {
		desired[filepath.Clean(n.Dir)] = true
	}
	for _, n := range append(append([]*node{}, replicas...), d.undesiredNodes(nodes[0].r, c, desired)...) {
		d.demote(ctx, c, n)
	}

	// A new cluster (the primary has no data and does not run) starts
	// every node at once from the template: the replicas have the
	// primary's data at its first position (an empty GTID state, the
	// primary's binary log complete from its start), so they replicate
	// from there instead of being cloned from the running primary.
	fresh := serverPID(master) == 0 && !master.hasData()
	cfgM := d.configFor(c, master, user, nil)
	cfgs := map[*node]serverConfig{}
	for _, r := range replicas {
		cfgs[r] = d.configFor(c, r, user, nil)
	}
	var restartM bool
	starting := []*node{master}
	if fresh {
		for _, r := range replicas {
			if serverPID(r) == 0 && !r.hasData() {
				starting = append(starting, r)
			}
		}
	}
	err := proc.Parallel(starting, func(n *node) error {
		if n == master {
			seed := func(ctx context.Context) error { return d.seedFromTemplate(ctx, c.AdminPassword, master) }
			var err error
			restartM, err = d.ensureServer(ctx, c, master, cfgM, false, seed)
			return err
		}
		seed := func(ctx context.Context) error {
			if err := d.seedFromTemplate(ctx, c.AdminPassword, n); err != nil {
				return err
			}
			n.st.CloneGTID = "-" // replicate from the primary's first position
			return d.saveState(n)
		}
		_, err := d.ensureServer(ctx, c, n, cfgs[n], false, seed)
		return err
	})
	if err != nil {
		return err
	}
	if err := d.promote(ctx, c, master); err != nil {
		return err
	}

	// The replicas: copies of the primary one at a time (each writes
	// the primary's client defaults), then each pointed at the primary on
	// its own.
	var restarts []*node
	for _, r := range replicas {
		clone := func(ctx context.Context) error { return d.cloneFromPrimary(ctx, c, master, r) }
		restart, err := d.ensureServer(ctx, c, r, cfgs[r], false, clone)
		if err != nil {
			return err
		}
		if restart {
			restarts = append(restarts, r)
		}
	}
	if err := proc.Parallel(replicas, func(r *node) error { return d.ensureReplicating(ctx, c, r, master) }); err != nil {
		return err
	}

	// Rolling restart for variables that are not dynamic: replicas first.
	for _, r := range restarts {
		if err := d.restartServer(ctx, c, r, cfgs[r].merged(), false); err != nil {
			return err
		}
	}
	if restartM {
		if err := d.restartServer(ctx, c, master, cfgM.merged(), false); err != nil {
			return err
		}
	}
	// The replicas are waited for together; a diverged one is copied again
	// after, one at a time as above.
	waits := make([]error, len(replicas))
	_ = proc.Parallel(replicas, func(r *node) error {
		waits[slices.Index(replicas, r)] = d.waitReplicating(ctx, c, r, master)
		return nil
	})
	for i, r := range replicas {
		err := waits[i]
		if errors.Is(err, errDiverged) {
			err = d.recloneDiverged(ctx, c, master, r, cfgs[r], err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// errDiverged is a replica whose data has transactions the primary does not
// have (MariaDB error 1236: its GTID position is not in the primary's
// binary log), typically a former primary killed with a commit that no
// replica acknowledged.
var errDiverged = errors.New("replica diverged from the primary")

// recloneDiverged gives a diverged replica a fresh copy of the primary: its
// own transactions were never acknowledged to a client (semi-sync), so they
// go, as when a managed service rebuilds a failed primary as a replica.
func (d *Driver) recloneDiverged(ctx context.Context, c *engine.Cluster, master, r *node, cfg serverConfig, cause error) error {
	d.log.Warn("replica diverged from the primary: copying the primary again", "datastore_id", c.ID, "node", r.ID,
		"primary", master.ID, "error", cause)
	if err := d.stopNode(ctx, r, stopGrace); err != nil {
		return err
	}
	if err := r.r.RemoveAll(r.dataDir()); err != nil {
		return fmt.Errorf("node %s: %w", r.ID, err)
	}
	clone := func(ctx context.Context) error { return d.cloneFromPrimary(ctx, c, master, r) }
	if _, err := d.ensureServer(ctx, c, r, cfg, false, clone); err != nil {
		return err
	}
	if err := d.ensureReplicating(ctx, c, r, master); err != nil {
		return err
	}
	return d.waitReplicating(ctx, c, r, master)
}

// demote makes a running server that must not be primary read-only. It is
// best effort: a server that does not answer is not taking writes either.
func (d *Driver) demote(ctx context.Context, c *engine.Cluster, n *node) {
	if serverPID(n) == 0 {
		return
	}
	db := connect(c, n)
	defer func() { _ = db.Close() }()
	ro, err := queryString(ctx, db.DB, "SELECT @@GLOBAL.read_only")
	if err != nil || ro == "1" {
		return
	}
	d.log.Info("making a former primary read-only", "datastore_id", c.ID, "node", n.ID)
	_, _ = db.ExecContext(ctx, "SET GLOBAL read_only = ON")
}

// promote makes the node the primary: it applies what it received as a
// replica, forgets its replication configuration and takes writes. It also
// makes sure the replication account exists.
func (d *Driver) promote(ctx context.Context, c *engine.Cluster, m *node) error {
	db := connect(c, m)
	defer func() { _ = db.Close() }()
	st, err := scanMap(ctx, db.DB, "SHOW SLAVE STATUS")
	if err != nil {
		return sqlErr("node "+m.ID+": slave status", err)
	}
	if st != nil {
		d.log.Info("promoting replica to primary", "datastore_id", c.ID, "node", m.ID)
		if _, err := db.ExecContext(ctx, "STOP SLAVE IO_THREAD"); err != nil {
			return sqlErr("node "+m.ID+": stop slave io thread", err)
		}
		waitApplied(ctx, db.DB)
		for _, q := range []string{"STOP SLAVE", "RESET SLAVE ALL"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return sqlErr("node "+m.ID+": "+strings.ToLower(q), err)
			}
		}
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL read_only = OFF"); err != nil {
		return sqlErr("node "+m.ID+": read_only off", err)
	}
	return d.ensureReplAccount(ctx, db.DB, c)
}

// ensureReplAccount makes the replication account exist once per address
// of the cluster's nodes (any of them may be a replica after a failover),
// with the derived password and only REPLICATION SLAVE, and drops its
// entries for any other host: it logs in from the cluster's nodes only,
// whatever the firewall lets in.
func (d *Driver) ensureReplAccount(ctx context.Context, db *sql.DB, c *engine.Cluster) error {
	hash := nativeHash(derivedSecret(c.AdminPassword, "replication"))
	want := map[string]bool{}
	for _, n := range c.Nodes {
		h, err := hostPattern(n.Host)
		if err != nil {
			return fmt.Errorf("node %s: address %q: %w", n.ID, n.Host, err)
		}
		if want[h] {
			continue
		}
		want[h] = true
		if err := d.ensureAccount(ctx, db, replUser, h, hash, "GRANT REPLICATION SLAVE ON *.* TO "+account(replUser, h)); err != nil {
			return err
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ?", replUser)
	if err != nil {
		return sqlErr("list "+replUser, err)
	}
	var drop []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			_ = rows.Close()
			return sqlErr("list "+replUser, err)
		}
		if !want[h] {
			drop = append(drop, h)
		}
	}
	if err := rows.Err(); err != nil {
		return sqlErr("list "+replUser, err)
	}
	_ = rows.Close()
	for _, h := range drop {
		if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS "+account(replUser, h)); err != nil {
			return sqlErr("drop "+replUser+"@"+h, err)
		}
	}
	return nil
}

// waitApplied waits (bounded) until a replica whose IO thread stopped has
// applied its relay log.
func waitApplied(ctx context.Context, db *sql.DB) {
	deadline := time.Now().Add(replWaitTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		st, err := scanMap(ctx, db, "SHOW SLAVE STATUS")
		if err != nil || st == nil || st["Slave_SQL_Running"] != "Yes" {
			return
		}
		if st["Relay_Master_Log_File"] == st["Master_Log_File"] && st["Exec_Master_Log_Pos"] == st["Read_Master_Log_Pos"] {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(proc.Poll):
		}
	}
}

// ensureAccount creates an internal account with a password hash, or
// updates the hash, and runs grant.
func (d *Driver) ensureAccount(ctx context.Context, db *sql.DB, user, host, hash, grant string) error {
	acct := account(user, host)
	if _, err := db.ExecContext(ctx, "CREATE USER IF NOT EXISTS "+acct+" IDENTIFIED VIA mysql_native_password USING "+quoteString(hash)); err != nil {
		return sqlErr("create "+user, err)
	}
	cur, err := queryString(ctx, db, "SELECT authentication_string FROM mysql.user WHERE User = ? AND Host = ?", user, host)
	if err != nil {
		return sqlErr("read "+user, err)
	}
	if cur != hash {
		if _, err := db.ExecContext(ctx, "ALTER USER "+acct+" IDENTIFIED VIA mysql_native_password USING "+quoteString(hash)); err != nil {
			return sqlErr("alter "+user, err)
		}
	}
	if _, err := db.ExecContext(ctx, grant); err != nil {
		return sqlErr("grant "+user, err)
	}
	return nil
}

// cloneFromPrimary gives a replica a copy of the primary's data, taken
// online with mariabackup (connecting over the primary's socket as the
// engines' OS user, identified by unix_socket), and records the GTID
// position of the copy.
func (d *Driver) cloneFromPrimary(ctx context.Context, c *engine.Cluster, primary, r *node) error {
	bin, err := proc.FindBinary("mariadb-backup")
	if err != nil {
		if bin, err = proc.FindBinary("mariabackup"); err != nil {
			return err
		}
	}
	tmp := r.dataDir() + ".tmp"
	if err := r.r.RemoveAll(tmp); err != nil {
		return err
	}
	defaults, err := writeClientDefaults(c, primary)
	if err != nil {
		return err
	}
	d.log.Info("cloning replica from primary", "datastore_id", c.ID, "node", r.ID, "primary", primary.ID)
	if _, err := run(ctx, r.r, r.Dir, nil, bin, defaults, "--backup", "--target-dir="+tmp,
		"--datadir="+primary.dataDir()); err != nil {
		return fmt.Errorf("node %s: clone from primary %s: %w", r.ID, primary.ID, err)
	}
	if _, err := run(ctx, r.r, r.Dir, nil, bin, "--no-defaults", "--prepare", "--target-dir="+tmp); err != nil {
		return fmt.Errorf("node %s: prepare clone: %w", r.ID, err)
	}
	gtid := ""
	for _, f := range []string{"mariadb_backup_binlog_info", "xtrabackup_binlog_info"} {
		if b, err := os.ReadFile(filepath.Join(tmp, f)); err == nil {
			if fields := strings.Fields(string(b)); len(fields) >= 3 {
				gtid = fields[2]
			}
			break
		}
	}
	r.st.CloneGTID = gtid
	if gtid == "" {
		r.st.CloneGTID = "-" // an empty position, still to be set
	}
	if err := d.saveState(r); err != nil {
		return err
	}
	if err := r.r.RemoveAll(r.dataDir()); err != nil {
		return err
	}
	return r.r.Rename(tmp, r.dataDir())
}

// ensureReplicating points a replica at the primary (GTID, semi-sync) and
// makes sure its replication threads run.
func (d *Driver) ensureReplicating(ctx context.Context, c *engine.Cluster, r, master *node) error {
	db := connect(c, r)
	defer func() { _ = db.Close() }()
	st, err := scanMap(ctx, db.DB, "SHOW SLAVE STATUS")
	if err != nil {
		return sqlErr("node "+r.ID+": slave status", err)
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL read_only = ON"); err != nil {
		return sqlErr("node "+r.ID+": read_only on", err)
	}
	port := strconv.Itoa(master.Port)
	if st == nil || st["Master_Host"] != master.Host || st["Master_Port"] != port ||
		st["Master_User"] != replUser || st["Using_Gtid"] != "Slave_Pos" {
		d.log.Info("configuring replication", "datastore_id", c.ID, "node", r.ID, "primary", master.ID)
		if st != nil {
			if _, err := db.ExecContext(ctx, "STOP SLAVE"); err != nil {
				return sqlErr("node "+r.ID+": stop slave", err)
			}
		}
		switch {
		case r.st.CloneGTID != "":
			pos := r.st.CloneGTID
			if pos == "-" {
				pos = ""
			}
			_, err = db.ExecContext(ctx, "SET GLOBAL gtid_slave_pos = "+quoteString(pos))
		case st == nil:
			// A former primary: it continues from what it wrote itself.
			_, err = db.ExecContext(ctx, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos")
		}
		if err != nil {
			return sqlErr("node "+r.ID+": set gtid_slave_pos", err)
		}
		q := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %d, MASTER_USER = %s, MASTER_PASSWORD = %s, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 2",
			quoteString(master.Host), master.Port, quoteString(replUser), quoteString(derivedSecret(c.AdminPassword, "replication")))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return sqlErr("node "+r.ID+": change master", err)
		}
		if _, err := db.ExecContext(ctx, "START SLAVE"); err != nil {
			return sqlErr("node "+r.ID+": start slave", err)
		}
		r.st.CloneGTID = ""
		return d.saveState(r)
	}
	if st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes" {
		if st["Last_SQL_Errno"] != "" && st["Last_SQL_Errno"] != "0" {
			return fmt.Errorf("node %s: replication stopped on an error: %s", r.ID, st["Last_SQL_Error"])
		}
		if _, err := db.ExecContext(ctx, "START SLAVE"); err != nil {
			return sqlErr("node "+r.ID+": start slave", err)
		}
	}
	return nil
}

// waitReplicating waits until a replica's threads run and it has applied
// what the primary had written when the wait began, or its threads have
// run without an error for streamingProof (a replica far behind catches
// up on its own; its lag is observed). Running threads alone are not
// enough: a diverged replica's IO thread connects (and shows as running)
// before the primary refuses its position (error 1236).
func (d *Driver) waitReplicating(ctx context.Context, c *engine.Cluster, r, master *node) error {
	mdb := connect(c, master)
	var target string
	err := mdb.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&target)
	_ = mdb.Close()
	if err != nil {
		return sqlErr("node "+master.ID+": binary log position", err)
	}
	db := connect(c, r)
	defer func() { _ = db.Close() }()
	deadline := time.Now().Add(replWaitTimeout)
	var st map[string]string
	var runningSince time.Time
	var b proc.Backoff
	for {
		st, err = scanMap(ctx, db.DB, "SHOW SLAVE STATUS")
		if err == nil && st != nil && st["Last_IO_Errno"] == "1236" {
			return fmt.Errorf("node %s: %w: %s", r.ID, errDiverged, st["Last_IO_Error"])
		}
		if err == nil && st != nil && st["Last_SQL_Errno"] != "0" && st["Last_SQL_Errno"] != "" {
			return fmt.Errorf("node %s: replication stopped on an error: %s", r.ID, st["Last_SQL_Error"])
		}
		if err == nil && st != nil && st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes" {
			if runningSince.IsZero() {
				runningSince = time.Now()
			}
			var reached int
			if err = db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, 0)", target).Scan(&reached); err == nil && (reached == 0 || time.Since(runningSince) >= streamingProof) {
				return nil
			}
		} else {
			runningSince = time.Time{}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.Next()):
		}
	}
	if err != nil {
		return sqlErr("node "+r.ID+": slave status", err)
	}
	if st == nil {
		return errors.New("node " + r.ID + ": replication is not configured")
	}
	return fmt.Errorf("node %s: replica not streaming (IO %s, SQL %s): %s", r.ID, st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"])
}
