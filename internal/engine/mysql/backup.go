package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Backups and point-in-time recovery.
//
// Archive: the closed binary logs of the node that takes writes (the
// primary; the first running node of a synchronous cluster) are copied
// into Cluster.ArchiveDir as "<node tag>-binlog.NNNNNN" (the tag keeps the
// logs of different nodes apart after a switchover). SyncArchive closes
// the current log first (FLUSH BINARY LOGS) when something was written
// since dbaasd last did, or always when forced; Destroy forces it before
// removing the servers, so a deleted cluster's archive ends where it
// stopped.
//
// Base backups: mariadb-backup streams an xbstream of the running server
// (connecting over its socket as the engines' OS user, identified by
// unix_socket), compressed with LZ4 into base.xbstream.lz4. Its binary log
// position and GTID become BackupInfo.Position: "<archive name of the
// log> <offset> <gtid>".
//
// Restore: the stream is extracted into the first node's data directory
// and prepared (mariadb-backup --prepare: the prepared directory is the
// data directory, so no --copy-back is needed). When the archive holds
// logs written after the backup, a temporary server (restore.cnf: the
// node's configuration without networking or Galera) starts on that data,
// its binary log state is set to the backup's GTID position (RESET MASTER
// then gtid_binlog_state, so replayed transactions keep their GTIDs and
// strict mode accepts them), and mariadb-binlog replays the logs from the
// backup's position up to the target time (--stop-datetime, in UTC) into
// it; it is then shut down cleanly. The admin password of the new cluster
// is set from an init file on the first real start, as for a new node.
// Ensure then starts the node from that data and clones replicas from it.

const (
	baseStreamFile = "base.xbstream" + engine.ExtLZ4
	restoreCnfFile = "restore.cnf"
)

var (
	_ engine.Backuper = (*Driver)(nil)
	_ engine.Archiver = (*Driver)(nil)
)

// flushed remembers, per cluster, the writer's binary log position right
// after dbaasd last closed a log ("file:pos"), so that an idle cluster's
// logs are not rotated on every archive sync.
var flushed sync.Map

// archiving serialises archive syncs of one cluster (the scheduler, a
// backup and a restore may ask at once): cluster ID → *sync.Mutex.
var archiving sync.Map

func lockArchive(clusterID string) func() {
	mu, _ := archiving.LoadOrStore(clusterID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// nodeTag is the short name of a node in archived log names.
func nodeTag(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() == 8 {
			break
		}
	}
	return b.String()
}

// archiveName is the name of a node's binary log in the archive.
func archiveName(n *node, binlog string) string { return nodeTag(n.ID) + "-" + binlog }

// backupNode is the node backups are taken from and logs archived from:
// the primary of a semi-synchronous cluster, the first running node of a
// synchronous one.
func (d *Driver) backupNode(c *engine.Cluster) (*node, error) {
	if err := d.checkCluster(c); err != nil {
		return nil, err
	}
	r, err := d.account(c)
	if err != nil {
		return nil, err
	}
	if d.mode == ModeNative {
		n := newNode(r, *c.Master())
		return n, n.loadState()
	}
	for _, en := range c.Nodes {
		n := newNode(r, en)
		if serverPID(n) != 0 {
			return n, n.loadState()
		}
	}
	n := newNode(r, c.Nodes[0])
	return n, n.loadState()
}

func mariabackupBinary() (string, error) { return findBinary("mariadb-backup", "mariabackup") }

// findBinary finds the first of names that is installed.
func findBinary(names ...string) (string, error) {
	var err error
	for _, name := range names {
		var bin string
		if bin, err = proc.FindBinary(name); err == nil {
			return bin, nil
		}
	}
	return "", err
}

var binlogPosRE = regexp.MustCompile(`MySQL binlog position: filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?`)

// BaseBackup implements engine.Backuper.
func (d *Driver) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	var info engine.BackupInfo
	n, err := d.backupNode(c)
	if err != nil {
		return info, err
	}
	bin, err := mariabackupBinary()
	if err != nil {
		return info, err
	}
	if err := os.RemoveAll(dst); err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	if err := n.r.ClaimDir(dst); err != nil {
		return info, err
	}
	info.Kind, info.StartedAt = engine.BackupBase, time.Now().UTC()
	if c.ArchiveDir != "" {
		// The logs up to here are archived: the backup starts a new one.
		if _, err := d.SyncArchive(ctx, c, true); err != nil {
			return info, err
		}
	}
	out := filepath.Join(dst, baseStreamFile)
	var f *os.File
	err = n.r.As(func() error {
		f, err = os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		return err
	})
	if err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	defer func() { _ = f.Close() }() // on errors; closed and checked below otherwise
	defaults, err := writeClientDefaults(c, n)
	if err != nil {
		return info, err
	}
	args := []string{defaults, "--backup", "--stream=xbstream", "--target-dir=" + dst, "--tmpdir=" + dst,
		"--datadir=" + n.dataDir()}
	if d.mode == ModeSync && len(c.Nodes) > 1 {
		args = append(args, "--galera-info")
	}
	d.log.Info("taking base backup", "datastore_id", c.ID, "node", n.ID)
	cmd := n.r.Command(ctx, bin, args...)
	cmd.Dir = dst
	zw := engine.NewCompressor(f)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = zw, &stderr
	if err := cmd.Run(); err != nil {
		return info, fmt.Errorf("node %s: mariadb-backup: %w: %s", n.ID, err, tailLines(stderr.String(), 8))
	}
	if err := zw.Close(); err != nil {
		return info, fmt.Errorf("base backup: compress: %w", err)
	}
	if err := f.Sync(); err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	info.ConsistentAt = time.Now().UTC()
	m := binlogPosRE.FindStringSubmatch(stderr.String())
	if m == nil {
		return info, fmt.Errorf("node %s: mariadb-backup did not report the binary log position: %s", n.ID, tailLines(stderr.String(), 5))
	}
	gtid := m[3]
	if gtid == "" {
		gtid = "-"
	}
	info.Position = fmt.Sprintf("%s %s %s", archiveName(n, m[1]), m[2], gtid)
	return info, nil
}

// position is a parsed BackupInfo.Position.
type position struct {
	file   string // archive name of the binary log
	offset int64
	gtid   string // "" when none
}

func parsePosition(s string) (position, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return position{}, fmt.Errorf("%w: backup position %q is not \"<log> <offset> <gtid>\"", engine.ErrInvalid, s)
	}
	off, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return position{}, fmt.Errorf("%w: backup position %q: %w", engine.ErrInvalid, s, err)
	}
	p := position{file: f[0], offset: off, gtid: f[2]}
	if p.gtid == "-" {
		p.gtid = ""
	}
	return p, nil
}

// SyncArchive implements engine.Archiver: it closes the writer's current
// binary log when something was written since dbaasd last did (always
// with force) and copies every closed log into the archive. A stopped
// server's logs are all closed and copied as they are.
func (d *Driver) SyncArchive(ctx context.Context, c *engine.Cluster, force bool) (time.Time, error) {
	if c.ArchiveDir == "" {
		return time.Time{}, nil
	}
	n, err := d.backupNode(c)
	if err != nil {
		return time.Time{}, err
	}
	if err := n.r.ClaimDir(c.ArchiveDir); err != nil {
		return time.Time{}, err
	}
	defer lockArchive(c.ID)()
	start := time.Now().UTC()
	if serverPID(n) == 0 {
		names, err := indexedBinlogs(n)
		if err != nil {
			return time.Time{}, err
		}
		return start, d.archiveBinlogs(c, n, names)
	}
	db := connect(c, n)
	defer func() { _ = db.Close() }()
	st, err := scanMap(ctx, db.DB, "SHOW MASTER STATUS")
	if err != nil {
		return time.Time{}, sqlErr("node "+n.ID+": master status", err)
	}
	if st == nil {
		return time.Time{}, fmt.Errorf("node %s: binary logging is off", n.ID)
	}
	last, _ := flushed.Load(c.ID)
	if force || last != st["File"]+":"+st["Position"] {
		if _, err := db.ExecContext(ctx, "FLUSH BINARY LOGS"); err != nil {
			return time.Time{}, sqlErr("node "+n.ID+": flush binary logs", err)
		}
		if st, err = scanMap(ctx, db.DB, "SHOW MASTER STATUS"); err != nil || st == nil {
			return time.Time{}, sqlErr("node "+n.ID+": master status", err)
		}
		flushed.Store(c.ID, st["File"]+":"+st["Position"])
	}
	names, err := binaryLogs(ctx, db)
	if err != nil {
		return time.Time{}, sqlErr("node "+n.ID+": binary logs", err)
	}
	if len(names) > 0 {
		names = names[:len(names)-1] // the current one is still written
	}
	return start, d.archiveBinlogs(c, n, names)
}

// binaryLogs lists a server's binary logs, oldest first.
func binaryLogs(ctx context.Context, db *dbConn) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// indexedBinlogs lists the binary logs in a stopped server's index file.
func indexedBinlogs(n *node) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(n.dataDir(), "binlog.index"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, filepath.Base(l))
		}
	}
	return names, nil
}

// archiveBinlogs copies closed binary logs into the archive (a temporary
// file, synced, renamed; the log's modification time is kept: it is when
// the log was closed). A log already archived is skipped; one archived
// with another size is an error.
func (d *Driver) archiveBinlogs(c *engine.Cluster, n *node, names []string) error {
	for _, name := range names {
		src := filepath.Join(n.dataDir(), name)
		st, err := os.Stat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // purged before it could be archived
		}
		if err != nil {
			return err
		}
		dst := filepath.Join(c.ArchiveDir, archiveName(n, name))
		if have, err := os.Stat(dst); err == nil {
			if have.Size() != st.Size() {
				return fmt.Errorf("node %s: the archive holds a different %s (%d bytes, the server's has %d)", n.ID, filepath.Base(dst), have.Size(), st.Size())
			}
			continue
		}
		if err := copyFile(n.r, src, dst, st.ModTime()); err != nil {
			return fmt.Errorf("node %s: archive %s: %w", n.ID, name, err)
		}
	}
	return nil
}

// copyFile copies src to dst atomically, as (and owned by) the cluster's
// OS account.
func copyFile(r *proc.Runner, src, dst string, mtime time.Time) error {
	return r.As(func() error { return copyFileAs(src, dst, mtime) })
}

func copyFileAs(src, dst string, mtime time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	// A name of its own: another dbaasd on this machine may copy the same
	// log at the same time.
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".%s.%d-%d.tmp", filepath.Base(dst), os.Getpid(), time.Now().UnixNano()))
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// Restore implements engine.Backuper (see the comment at the top).
func (d *Driver) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	if err := d.checkCluster(c); err != nil {
		return err
	}
	pos, err := parsePosition(from.Backup.Position)
	if err != nil {
		return err
	}
	logs, err := replayLogs(from.ArchiveDir, pos.file)
	if err != nil {
		return err
	}
	bin, err := mariabackupBinary()
	if err != nil {
		return err
	}
	user, err := d.userVars(ctx, c.Config)
	if err != nil {
		return err
	}
	nodes, err := d.prepareNodes(ctx, c)
	if err != nil {
		return err
	}
	n := nodes[0]
	for _, cand := range nodes {
		if cand.Role == engine.RoleMaster {
			n = cand
			break
		}
	}
	// Start over: servers an interrupted restore left, and their data.
	if err := d.stopRestoreServer(ctx, n); err != nil {
		return err
	}
	if err := d.stopNode(ctx, n, stopGrace); err != nil {
		return err
	}
	tmp := n.dataDir() + ".tmp"
	for _, dir := range []string{n.dataDir(), tmp} {
		if err := n.r.RemoveAll(dir); err != nil {
			return fmt.Errorf("node %s: %w", n.ID, err)
		}
	}
	if err := n.r.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	d.log.Info("restoring base backup", "datastore_id", c.ID, "node", n.ID, "source_datastore_id", from.ClusterID, "position", from.Backup.Position)
	if err := d.extractStream(ctx, n, filepath.Join(from.BaseDir, baseStreamFile), tmp); err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	if _, err := run(ctx, n.r, n.Dir, nil, bin, "--no-defaults", "--prepare", "--target-dir="+tmp); err != nil {
		return fmt.Errorf("node %s: prepare backup: %w", n.ID, err)
	}
	if err := n.r.Rename(tmp, n.dataDir()); err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	forgetGalera(n)
	init := "SET SESSION sql_log_bin = 0;\n" +
		"SET SESSION wsrep_on = OFF;\n" +
		"ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING " + quoteString(nativeHash(c.AdminPassword)) + ";\n"
	if _, err := n.r.WriteFile(n.initFile(), []byte(init), 0o600); err != nil {
		return err
	}
	if len(logs) == 0 {
		return nil
	}
	// mariadb-binlog reads the logs as the cluster's OS account: it gets a
	// copy of its own (the staged files are dbaasd's or the source's).
	own := filepath.Join(n.Dir, "restore-binlogs")
	if err := n.r.RemoveAll(own); err != nil {
		return err
	}
	if err := n.r.CopyTree(from.ArchiveDir, own); err != nil {
		return fmt.Errorf("node %s: %w", n.ID, err)
	}
	defer func() { _ = n.r.RemoveAll(own) }()
	for i, l := range logs {
		logs[i] = filepath.Join(own, filepath.Base(l))
	}
	return d.replay(ctx, c, n, user, pos, logs, from.Target)
}

// replayLogs lists the archived logs to replay after a backup taken at
// log first: first and its successors from the same node, in order. A gap
// in their numbering is an error.
func replayLogs(dir, first string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	prefix, seq, ok := splitLogName(first)
	if !ok {
		return nil, fmt.Errorf("%w: backup position names no binary log (%q)", engine.ErrInvalid, first)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read archive copy: %w", err)
	}
	type log struct {
		seq  int
		path string
	}
	var logs []log
	for _, e := range entries {
		p, s, ok := splitLogName(e.Name())
		if ok && p == prefix && s >= seq {
			logs = append(logs, log{s, filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i].seq < logs[j].seq })
	var out []string
	for i, l := range logs {
		if want := seq + i; l.seq != want {
			return nil, fmt.Errorf("%w: binary log %s.%06d is missing from the archive", engine.ErrTargetNotArchived, prefix, want)
		}
		out = append(out, l.path)
	}
	return out, nil
}

// splitLogName splits "tag-binlog.000012" into "tag-binlog" and 12.
func splitLogName(name string) (string, int, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || strings.HasPrefix(name, ".") {
		return "", 0, false
	}
	seq, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return "", 0, false
	}
	return name[:i], seq, true
}

// extractStream unpacks a (compressed) xbstream into dir with mbstream, as
// the engines' OS user.
func (d *Driver) extractStream(ctx context.Context, n *node, file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, err := engine.Decompress(f, file)
	if err != nil {
		return err
	}
	bin, err := proc.FindBinary("mbstream")
	if err != nil {
		return err
	}
	cmd := n.r.Command(ctx, bin, "-x", "-C", dir)
	cmd.Stdin = r
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("extract %s: %w: %s", filepath.Base(file), err, tailLines(out.String(), 5))
	}
	return nil
}

// restoreCnf is the temporary server's configuration file.
func restoreCnf(n *node) string { return filepath.Join(n.Dir, restoreCnfFile) }

// replay rolls the restored data forward: a temporary server replays the
// archived logs from the backup's position up to target.
func (d *Driver) replay(ctx context.Context, c *engine.Cluster, n *node, user map[string]string, pos position, logs []string, target *time.Time) error {
	cfg := d.configFor(c, n, user, nil).merged()
	for k := range cfg {
		if strings.HasPrefix(k, "wsrep_") {
			delete(cfg, k)
		}
	}
	delete(cfg, "bind_address")
	delete(cfg, "port")
	cfg["skip_networking"] = "ON"
	cfg["skip_slave_start"] = "ON"
	cfg["read_only"] = "OFF"
	cfg["pid_file"] = restoreServer(n).PidFile
	cfg["log_error"] = filepath.Join(n.logDir(), "restore.log")
	if _, err := n.r.WriteFile(restoreCnf(n), serverConfig{owned: cfg}.render(), 0o600); err != nil {
		return err
	}
	mariadbd, err := proc.FindBinary("mariadbd")
	if err != nil {
		return err
	}
	d.log.Info("replaying archived binary logs", "datastore_id", c.ID, "node", n.ID, "logs", len(logs), "target", target)
	// The restored data has the source's admin password: the init file
	// gives root the cluster's own before the server takes connections.
	start := []string{"--defaults-file=" + restoreCnf(n), "--init-file=" + n.initFile()}
	rs := restoreServer(n)
	rs.Command, rs.Args = mariadbd, start
	rs.Ready = func(ctx context.Context, _ int) error { return d.client(ctx, c, n, nil, "-e", "SELECT 1") }
	rs.ReadyTimeout = readyTimeout
	defer func() { _ = d.stopRestoreServer(context.WithoutCancel(ctx), n) }()
	if _, err := rs.Start(ctx); err != nil {
		return err
	}
	if pos.gtid != "" {
		if err := d.client(ctx, c, n, nil, "-e", "RESET MASTER; SET GLOBAL gtid_binlog_state = "+quoteString(pos.gtid)); err != nil {
			return fmt.Errorf("node %s: set the backup's GTID state: %w", n.ID, err)
		}
	}
	binlog, err := findBinary("mariadb-binlog", "mysqlbinlog")
	if err != nil {
		return err
	}
	args := []string{"--no-defaults", "--start-position=" + strconv.FormatInt(pos.offset, 10)}
	if target != nil {
		// mariadb-binlog reads the time in its time zone: the runner's is UTC.
		args = append(args, "--stop-datetime="+target.UTC().Format("2006-01-02 15:04:05"))
	}
	args = append(args, logs...)
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	dump := n.r.Command(ctx, binlog, args...)
	var dumpErr strings.Builder
	dump.Stdout, dump.Stderr = pw, &dumpErr
	if err := dump.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return fmt.Errorf("node %s: start mariadb-binlog: %w", n.ID, err)
	}
	_ = pw.Close()
	applyErr := d.client(ctx, c, n, pr, "--binary-mode")
	_ = pr.Close()
	dumpWait := dump.Wait()
	if dumpWait != nil {
		return fmt.Errorf("node %s: mariadb-binlog: %w: %s", n.ID, dumpWait, tailLines(dumpErr.String(), 5))
	}
	if applyErr != nil {
		return fmt.Errorf("node %s: replay archived binary logs: %w", n.ID, applyErr)
	}
	return d.stopRestoreServer(ctx, n)
}

// client runs the mariadb client on a node's socket as the admin user (as
// the cluster's OS account, with the options file of writeClientDefaults),
// with stdin.
func (d *Driver) client(ctx context.Context, c *engine.Cluster, n *node, stdin io.Reader, args ...string) error {
	bin, err := findBinary("mariadb", "mysql")
	if err != nil {
		return err
	}
	defaults, err := writeClientDefaults(c, n)
	if err != nil {
		return err
	}
	cmd := n.r.Command(ctx, bin, append([]string{defaults}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mariadb: %w: %s", err, tailLines(out.String(), 5))
	}
	return nil
}

// restoreServer describes the node's temporary restore server.
func restoreServer(n *node) *proc.Daemon {
	dm := mariadbd(n, restoreCnf(n), filepath.Join(n.runDir(), "restore.pid"))
	dm.Name = "node " + n.ID + ": the restore server"
	dm.Tail = func() string { return n.r.LogTail(filepath.Join(n.logDir(), "restore.log"), 5) }
	return dm
}

// stopRestoreServer stops a temporary restore server of the node (clean
// shutdown), if one runs.
func (d *Driver) stopRestoreServer(ctx context.Context, n *node) error {
	if _, err := restoreServer(n).Stop(ctx); err != nil {
		return err
	}
	_ = n.r.Remove(restoreCnf(n))
	return nil
}
