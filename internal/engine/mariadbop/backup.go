package mariadbop

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Backups.
//
// mariadb-operator v25.10 archives no binary logs, so no backup here rolls
// forward to a point in time: a backup is a snapshot (engine.BackupSnapshot)
// of the tenant's databases, a logical dump dbaasd takes itself with the
// MariaDB tools installed beside it (mariadb-dump, one consistent
// transaction, routines, triggers and events), as root on the primary
// through its node's Service, compressed into the backup's directory;
// dbaasd's catalogue keeps it like any other. The system schemas are left
// out: the accounts are the API's users, which a restored datastore gets
// again from their records.
//
// A restore loads the dump into the new datastore once it runs: Restore
// uploads it to the object storage and writes the Secret seedSecret, and
// Ensure, once the servers are ready, loads it on the primary (mariadb,
// the client beside dbaasd) and then deletes the file and the Secret. A
// dump drops and makes each table again, so a load that was interrupted
// is started over.

// Names of a restore's seed.
const (
	seedSecret = "mysql-seed"
	dumpFile   = "dump.sql" + engine.ExtLZ4
	// dumpWait bounds a dump or a load.
	dumpWait = time.Hour
)

// systemSchemas are the schemas a dump leaves out.
var systemSchemas = map[string]bool{"mysql": true, "sys": true, "information_schema": true, "performance_schema": true}

var _ engine.Backuper = (*Backups)(nil)

// Backups is the driver of a deployment with an object storage, through
// which restores reach the new datastore: the Driver, and engine.Backuper.
type Backups struct{ *Driver }

// seed is how a restore's dump reaches the new datastore.
func (d *Driver) seed() kube.Handoff {
	return kube.Handoff{Store: d.opts.ObjectStore, Secret: seedSecret, Prefix: "mysql-restore"}
}

// BaseBackup implements engine.Backuper: a logical dump of the tenant's
// databases on the primary.
func (b *Backups) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	info := engine.BackupInfo{Kind: engine.BackupSnapshot}
	bin, err := findTool("mariadb-dump", "mysqldump")
	if err != nil {
		return info, err
	}
	var dbs []string
	var n engine.Node
	err = b.onPrimary(ctx, c, func(primary engine.Node, db *sql.DB) error {
		n = primary
		dbs, err = userDatabases(ctx, db)
		return err
	})
	if err != nil {
		return info, err
	}
	if err := os.RemoveAll(dst); err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	defaults, done, err := clientDefaults(c, n)
	if err != nil {
		return info, err
	}
	defer done()
	f, err := os.OpenFile(filepath.Join(dst, dumpFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = f.Close() }() // on errors; closed and checked below otherwise
	zw := engine.NewCompressor(f)
	info.StartedAt = time.Now().UTC()
	if len(dbs) == 0 {
		_, err = io.WriteString(zw, "-- dbaasd: no database to dump\n")
	} else {
		ctx, cancel := context.WithTimeout(ctx, dumpWait)
		defer cancel()
		args := append([]string{"--defaults-extra-file=" + defaults, "--single-transaction", "--routines", "--triggers",
			"--events", "--hex-blob", "--skip-dump-date", "--databases"}, dbs...)
		cmd := exec.CommandContext(ctx, bin, args...)
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = zw, &stderr
		b.log.Info("taking snapshot", "datastore_id", c.ID, "node", n.ID, "databases", len(dbs))
		if err = cmd.Run(); err != nil {
			err = fmt.Errorf("mariadb-dump: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("node %s: %w", n.ID, err)
	}
	// One transaction from the start: the dump is the data of the moment
	// it began.
	info.ConsistentAt = info.StartedAt
	info.Position = fmt.Sprintf("node=%s databases=%d", n.ID, len(dbs))
	return info, nil
}

// clientDefaults writes, in a directory of its own that done removes, the
// options file with which MariaDB's tools reach node n as root: never in
// a backup's directory, never on a command line.
func clientDefaults(c *engine.Cluster, n engine.Node) (path string, done func(), err error) {
	dir, err := os.MkdirTemp("", "dbaasd-mariadb-client")
	if err != nil {
		return "", nil, err
	}
	done = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "client.cnf")
	if err := os.WriteFile(path, mysql.RemoteClientDefaults(rootUser, c.AdminPassword, n.Host, n.Port), 0o600); err != nil {
		done()
		return "", nil, err
	}
	return path, done, nil
}

// findTool finds the first of MariaDB's tools of these names.
func findTool(names ...string) (string, error) {
	var err error
	for _, name := range names {
		var bin string
		if bin, err = proc.FindBinary(name); err == nil {
			return bin, nil
		}
	}
	return "", fmt.Errorf("the MariaDB tools beside dbaasd: %w", err)
}

// userDatabases are the databases that are not the server's own.
func userDatabases(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if !systemSchemas[strings.ToLower(name)] {
			out = append(out, name)
		}
	}
	return out, rows.Err()
}

// Restore implements engine.Backuper: the dump goes to the object
// storage, and the seed Secret tells Ensure to load it once the servers
// run.
func (b *Backups) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	src := filepath.Join(from.BaseDir, dumpFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%w: snapshot of %s: %w", engine.ErrInvalid, from.ClusterID, err)
	}
	h := b.seed()
	key := h.Key(c.ID, dumpFile)
	b.log.Info("restoring snapshot", "datastore_id", c.ID, "source_datastore_id", from.ClusterID)
	return b.kc.PutHandoff(ctx, c, h, key, src, map[string][]byte{"key": []byte(key), "source": []byte(from.ClusterID)})
}

// loadSeed loads a restore's dump into the primary when the seed Secret
// says there is one, then deletes the dump and the Secret.
func (d *Driver) loadSeed(ctx context.Context, c *engine.Cluster) error {
	data, err := d.kc.HandedOff(ctx, c.ID, d.seed())
	if err != nil || data == nil {
		return err
	}
	if d.opts.ObjectStore == nil {
		return fmt.Errorf("datastore %s waits for a restore's dump, and this deployment has no object storage", c.ID)
	}
	store, err := objectstore.New(*d.opts.ObjectStore)
	if err != nil {
		return err
	}
	key := string(data["key"])
	in, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("the restore's dump: %w", err)
	}
	defer func() { _ = in.Close() }()
	sqlIn, err := engine.Decompress(in, key)
	if err != nil {
		return err
	}
	bin, err := findTool("mariadb", "mysql")
	if err != nil {
		return err
	}
	err = d.onPrimary(ctx, c, func(n engine.Node, _ *sql.DB) error {
		defaults, done, err := clientDefaults(c, n)
		if err != nil {
			return err
		}
		defer done()
		ctx, cancel := context.WithTimeout(ctx, dumpWait)
		defer cancel()
		// The dump's text is the tenant's data: --sandbox refuses the
		// client's own commands that reach the file system or a shell
		// (\! …) on this machine, whatever a crafted name or value holds.
		cmd := exec.CommandContext(ctx, bin, "--defaults-extra-file="+defaults, "--batch", "--sandbox")
		var stderr strings.Builder
		cmd.Stdin, cmd.Stderr = sqlIn, &stderr
		d.log.Info("loading a restored snapshot", "datastore_id", c.ID, "source_datastore_id", string(data["source"]))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("load the restored snapshot: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.kc.DropHandoff(ctx, c.ID, d.seed())
}
