package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Backups and point-in-time recovery.
//
// Archiving: with Cluster.ArchiveDir set, every server runs with
// archive_mode = on and an archive_command that compresses each completed
// WAL segment with zstd into the archive directory atomically (a hidden
// temporary file, synced, then renamed), succeeding without copying when a
// file of the same content is already there (a retry after a crash) and
// failing when a different one is (another cluster's WAL). Compression
// matters most where little is written: a segment that archive_timeout
// completes early is 16 MB, nearly all zeros, and is stored in about 70 kB.
// The archived file keeps the segment's name; restore_command decompresses,
// and passes through files archived uncompressed by earlier versions. archive_timeout bounds how long a committed
// transaction waits for its segment to be archived; a clean shutdown
// archives the last partial segment too (PostgreSQL switches segments on
// shutdown when archiving), so a deleted cluster's archive ends where it
// stopped. Standbys do not archive (archive_mode = on, not always); a
// promoted standby takes over.
//
// Base backups: pg_basebackup over the primary's Unix socket, tar format
// with the WAL needed for consistency streamed alongside (pg_wal.tar), the
// base compressed with LZ4 on the client (base.tar.lz4).
//
// Restore: the base backup is extracted into the new primary's data
// directory, which gets the new cluster's configuration plus
// conf.d/dbaasd-restore.conf (restore_command reading the archive copy the
// caller prepared, recovery_target_time, recovery_target_action = promote)
// and recovery.signal. The server is started and recovers until it
// promotes itself; Restore then stops it without the recovery settings,
// and Ensure starts it (a data directory exists, so the template is not
// copied) and builds replicas from it. PostgreSQL stops at a target time only when it finds a commit after
// it: when the archive ends before that (the source committed nothing
// more), recovery fails with "recovery ended before configured recovery
// target was reached" and Restore resumes it without a target, which ends
// at the same state — unless the archive has a gap, which is an error.

const (
	// archiveTimeout bounds how long a committed transaction's WAL can
	// wait before its segment is archived (a forced segment switch).
	archiveTimeout = "60s"
	// restoreConfFile holds the recovery settings of a restore in conf.d.
	restoreConfFile = "dbaasd-restore.conf"
	// walSegmentSize is the WAL segment size of dbaasd's data directories
	// (initdb's default).
	walSegmentSize = 16 << 20
	// archiveWait bounds waiting for a forced segment switch to reach the
	// archive.
	archiveWait = 2 * time.Minute
)

var (
	_ engine.Backuper = (*Driver)(nil)
	_ engine.Archiver = (*Driver)(nil)
)

// archiveSettings are the dbaasd-owned settings that archive WAL into
// c.ArchiveDir (none when it is not set).
func archiveSettings(c *engine.Cluster) ([]setting, error) {
	if c.ArchiveDir == "" {
		return nil, nil
	}
	if err := checkArchivePath(c.ArchiveDir); err != nil {
		return nil, err
	}
	return []setting{
		{"archive_mode", "on"},
		{"archive_command", quoteConf(archiveCommand(c.ArchiveDir))},
		{"archive_timeout", quoteConf(archiveTimeout)},
	}, nil
}

// checkArchivePath rejects directories that cannot be written into a
// shell command between single quotes or that PostgreSQL would expand (%).
func checkArchivePath(dir string) error {
	if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "'%\n\r\x00") {
		return fmt.Errorf("%w: archive directory %q must be an absolute path without quotes, %% or line breaks", engine.ErrInvalid, dir)
	}
	return nil
}

// archiveCommand compresses a completed segment (%p, relative to the data
// directory; %f its file name) into dir: a copy already there whose
// content is the same counts as archived, a different one fails; new
// copies are written to a hidden temporary file, synced and renamed.
func archiveCommand(dir string) string {
	return fmt.Sprintf(`d='%s'; if [ -f "$d/%%f" ]; then zstd -dcqf "$d/%%f" | cmp -s - "%%p"; else zstd -q -1 -c "%%p" > "$d/.%%f.tmp" && sync "$d/.%%f.tmp" && mv "$d/.%%f.tmp" "$d/%%f"; fi`, dir)
}

// restoreCommand gives a recovering server the archived files of dir,
// decompressed (files archived uncompressed pass through as they are).
func restoreCommand(dir string) string {
	if dir == "" {
		return "false"
	}
	return fmt.Sprintf(`f='%s/%%f'; [ -f "$f" ] && zstd -dcqf "$f" > "%%p"`, dir)
}

// ensureArchiveDir creates the cluster's archive directory for the server
// to write to.
func ensureArchiveDir(e *env, c *engine.Cluster) error {
	if c.ArchiveDir == "" {
		return nil
	}
	if err := checkArchivePath(c.ArchiveDir); err != nil {
		return err
	}
	return e.r.ClaimDir(c.ArchiveDir)
}

// BaseBackup implements engine.Backuper: pg_basebackup of the primary into
// dst as base.tar.lz4 and pg_wal.tar (the WAL written while it ran).
func (d *Driver) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	var info engine.BackupInfo
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		return info, err
	}
	p, err := primaryPaths(c)
	if err != nil {
		return info, err
	}
	if err := os.RemoveAll(dst); err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	if err := e.r.ClaimDir(dst); err != nil {
		return info, fmt.Errorf("base backup: %w", err)
	}
	info.Kind, info.StartedAt = engine.BackupBase, time.Now().UTC()
	d.log.Info("taking base backup", "datastore_id", c.ID, "node", p.id)
	out, err := e.r.Run(ctx, e.inst.bin("pg_basebackup"), "-h", p.socketDir, "-p", strconv.Itoa(p.port),
		"-U", superuser, "-w", "-D", dst, "-Ft", "-X", "stream", "-c", "fast",
		"--compress=client-lz4", "--no-manifest", "-v")
	if err != nil {
		return info, fmt.Errorf("node %s: pg_basebackup: %w", p.id, err)
	}
	info.ConsistentAt = time.Now().UTC()
	info.Position = parseBackupLog(string(out))
	return info, nil
}

var (
	walStartRE = regexp.MustCompile(`write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)`)
	walEndRE   = regexp.MustCompile(`write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)`)
)

// parseBackupLog extracts the WAL start and end points and the timeline
// from pg_basebackup's verbose output: "start=0/2000028 end=0/2000100
// timeline=1".
func parseBackupLog(out string) string {
	var parts []string
	start := walStartRE.FindStringSubmatch(out)
	if start != nil {
		parts = append(parts, "start="+start[1])
	}
	if m := walEndRE.FindStringSubmatch(out); m != nil {
		parts = append(parts, "end="+m[1])
	}
	if start != nil {
		parts = append(parts, "timeline="+start[2])
	}
	return strings.Join(parts, " ")
}

// backupPosition is a parsed BackupInfo.Position.
type backupPosition struct {
	start, end uint64
	timeline   uint32
}

func parsePosition(s string) (backupPosition, error) {
	var bp backupPosition
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "start":
			bp.start, err = lsnOf(v)
		case "end":
			bp.end, err = lsnOf(v)
		case "timeline":
			var t uint64
			t, err = strconv.ParseUint(v, 10, 32)
			bp.timeline = uint32(t)
		}
		if err != nil {
			return bp, fmt.Errorf("backup position %q: %w", s, err)
		}
	}
	if bp.timeline == 0 || bp.end == 0 {
		return bp, fmt.Errorf("backup position %q lacks the end point or timeline", s)
	}
	return bp, nil
}

// lsnOf reads "X/Y" (hexadecimal halves), failing when it is malformed.
func lsnOf(s string) (uint64, error) {
	if v := parseLSN(s); v != 0 || s == "0/0" {
		return v, nil
	}
	return 0, fmt.Errorf("invalid LSN %q", s)
}

// segmentName is the WAL file holding lsn on a timeline.
func segmentName(tli uint32, lsn uint64) string {
	seg := lsn / walSegmentSize
	perLog := uint64(0x100000000) / walSegmentSize
	return fmt.Sprintf("%08X%08X%08X", tli, seg/perLog, seg%perLog)
}

var segmentRE = regexp.MustCompile(`^[0-9A-F]{24}$`)

// archiveGap returns the first WAL segment missing from dir after the one
// holding the backup's end point (on the backup's timeline and later
// ones, each checked on its own), or "" when the archive is contiguous.
func archiveGap(dir string, bp backupPosition) (string, error) {
	if dir == "" {
		return "", nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read archive copy: %w", err)
	}
	first := segmentName(bp.timeline, bp.end)
	var names []string
	for _, e := range entries {
		if n := e.Name(); segmentRE.MatchString(n) && n[:8] >= first[:8] && (n[:8] != first[:8] || n >= first) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 0 && names[0][:8] == first[:8] && names[0] != first {
		return first, nil
	}
	for i := 1; i < len(names); i++ {
		prev, cur := names[i-1], names[i]
		if prev[:8] != cur[:8] {
			continue // a new timeline starts within the last one's segments
		}
		if want := nextSegment(prev); cur != want {
			return want, nil
		}
	}
	return "", nil
}

// nextSegment is the name of the WAL segment after name, on its timeline.
func nextSegment(name string) string {
	tli, _ := strconv.ParseUint(name[:8], 16, 32)
	log, _ := strconv.ParseUint(name[8:16], 16, 32)
	seg, _ := strconv.ParseUint(name[16:], 16, 32)
	lsn := (log*(uint64(0x100000000)/walSegmentSize) + seg + 1) * walSegmentSize
	return segmentName(uint32(tli), lsn)
}

// SyncArchive implements engine.Archiver. PostgreSQL archives completed
// segments by itself (within archive_timeout), so without force it does
// nothing. With force it commits a marker transaction (a commit record a
// recovery to any earlier time can stop at), switches to a new segment and
// waits until the completed one is archived.
func (d *Driver) SyncArchive(ctx context.Context, c *engine.Cluster, force bool) (time.Time, error) {
	if c.ArchiveDir == "" || !force {
		return time.Time{}, nil
	}
	p, err := primaryPaths(c)
	if err != nil {
		return time.Time{}, err
	}
	start := time.Now().UTC()
	var file string
	err = withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
		// The marker commits locally: it must not wait for a synchronous
		// standby that may be down.
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit TO local"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "SELECT pg_current_xact_id()")
			return err
		}); err != nil {
			return sqlError(err, "archive marker")
		}
		if err := conn.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&file); err != nil {
			return sqlError(err, "switch WAL segment")
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(archiveWait)
	for !exists(filepath.Join(c.ArchiveDir, file)) {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("node %s: WAL segment %s was not archived within %s: %s", p.id, file, archiveWait, archiverStatus(ctx, d.runner.Existing(c.ID), p))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return start, nil
}

// archiverStatus describes the archiver's last failure, for errors.
func archiverStatus(ctx context.Context, r *proc.Runner, p nodePaths) string {
	var failed string
	var count int64
	err := withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT coalesce(last_failed_wal, ''), failed_count FROM pg_stat_archiver").Scan(&failed, &count)
	})
	if err != nil {
		return err.Error()
	}
	if count == 0 {
		return "the archiver reports no failure (it may be slow)"
	}
	return fmt.Sprintf("archive_command failed %d times, last for %s; server log: %s", count, failed, serverLogTail(r, p))
}

// Restore implements engine.Backuper (see the comment at the top).
func (d *Driver) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	if err := validateCluster(c); err != nil {
		return err
	}
	bp, err := parsePosition(from.Backup.Position)
	if err != nil {
		return fmt.Errorf("%w: %w", engine.ErrInvalid, err)
	}
	e, err := d.claimCluster(ctx, c)
	if err != nil {
		return err
	}
	m := c.Master()
	p := pathsOf(m)
	// Start over: a server an interrupted restore started, and its data.
	if err := d.stopServer(ctx, e, p); err != nil {
		return err
	}
	tmp := p.data + ".tmp"
	for _, dir := range []string{p.data, tmp} {
		if err := e.r.RemoveAll(dir); err != nil {
			return fmt.Errorf("node %s: %w", p.id, err)
		}
	}
	if err := d.prepareNodeDir(ctx, e, c, p); err != nil {
		return err
	}
	d.log.Info("restoring base backup", "datastore_id", c.ID, "node", p.id, "source_datastore_id", from.ClusterID, "backup", from.Backup.Position)
	start := time.Now()
	if err := d.extractBackup(ctx, e, from.BaseDir, tmp); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	d.log.Info("base backup extracted", "datastore_id", c.ID, "node", p.id, "duration_ms", time.Since(start).Milliseconds())
	if err := e.r.Rename(tmp, p.data); err != nil {
		return fmt.Errorf("node %s: %w", p.id, err)
	}
	if _, _, err := d.writeNodeFiles(e, c, m, nil); err != nil {
		return err
	}
	if from.ArchiveDir != "" {
		// The server reads the archive as the cluster's OS account: it
		// gets a copy of its own (the staged files are dbaasd's, or the
		// source's own archive).
		own := filepath.Join(p.dir, "restore-wal")
		if err := e.r.RemoveAll(own); err != nil {
			return err
		}
		if err := e.r.CopyTree(from.ArchiveDir, own); err != nil {
			return fmt.Errorf("node %s: %w", p.id, err)
		}
		defer func() { _ = e.r.RemoveAll(own) }()
		from.ArchiveDir = own
	}
	start = time.Now()
	if err := d.recoverTo(ctx, e, c, p, from, bp); err != nil {
		return err
	}
	d.log.Info("recovered", "datastore_id", c.ID, "node", p.id, "target", from.Target, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// extractBackup unpacks base.tar[.lz4] into dir and pg_wal.tar[.lz4] into
// its pg_wal, as the engines' OS user, and removes what belongs to the
// source's running server.
func (d *Driver) extractBackup(ctx context.Context, e *env, from, dir string) error {
	if err := e.r.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	base, err := findBackupFile(from, "base.tar")
	if err != nil {
		return err
	}
	if err := untar(ctx, e, base, dir); err != nil {
		return err
	}
	if wal, err := findBackupFile(from, "pg_wal.tar"); err == nil {
		if err := e.r.MkdirAll(filepath.Join(dir, "pg_wal"), 0o700); err != nil {
			return err
		}
		if err := untar(ctx, e, wal, filepath.Join(dir, "pg_wal")); err != nil {
			return err
		}
	}
	for _, f := range []string{"postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal",
		filepath.Join("conf.d", restoreConfFile)} {
		if err := e.r.Remove(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	return nil
}

// findBackupFile finds name or a compressed name.lz4 in dir.
func findBackupFile(dir, name string) (string, error) {
	for _, n := range []string{name + engine.ExtLZ4, name} {
		if p := filepath.Join(dir, n); exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: backup in %s has no %s", engine.ErrInvalid, dir, name)
}

// untar extracts a (compressed) tar file into dir as the engines' OS user.
func untar(ctx context.Context, e *env, file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, err := engine.Decompress(f, file)
	if err != nil {
		return err
	}
	cmd := e.r.Command(ctx, "tar", "-x", "-f", "-", "-C", dir)
	cmd.Stdin = r
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("extract %s: %w: %s", filepath.Base(file), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// recoverTo starts the restored primary in recovery towards from.Target
// and waits until it promoted itself.
func (d *Driver) recoverTo(ctx context.Context, e *env, c *engine.Cluster, p nodePaths, from engine.RestoreSource, bp backupPosition) error {
	target := from.Target
	for {
		if err := writeRestoreConf(e, p, from.ArchiveDir, target); err != nil {
			return err
		}
		if _, err := e.r.WriteFile(filepath.Join(p.data, "recovery.signal"), nil, 0o600); err != nil {
			return err
		}
		mark := logMark(p)
		err := d.startServer(ctx, e, p)
		if err == nil {
			err = d.waitPromoted(ctx, e, p)
		}
		if err == nil {
			break
		}
		if target == nil || !strings.Contains(logSince(p, mark), "recovery ended before configured recovery target was reached") {
			return err
		}
		// The archive ends before the target: nothing was committed
		// between its end and the target, so its end is the target's
		// state — provided it has no gap.
		gap, gerr := archiveGap(from.ArchiveDir, bp)
		if gerr != nil {
			return gerr
		}
		if gap != "" {
			return fmt.Errorf("%w: WAL segment %s of datastore %s is missing from its archive; recovery stopped before %s",
				engine.ErrTargetNotArchived, gap, from.ClusterID, target.UTC().Format(time.RFC3339))
		}
		d.log.Info("the archive ends before the target time; recovering to its end", "datastore_id", c.ID, "target", target)
		target = nil
	}
	// Recovery settings only change with a restart, and replicas copied
	// from this server must not inherit them: the server stops without
	// them, and Ensure starts it as the new primary.
	if err := e.r.Remove(filepath.Join(p.data, "conf.d", restoreConfFile)); err != nil {
		return err
	}
	return d.stopServer(ctx, e, p)
}

// writeRestoreConf writes the recovery settings of a restore.
func writeRestoreConf(e *env, p nodePaths, archive string, target *time.Time) error {
	var b strings.Builder
	b.WriteString("# Written by dbaasd for a restore; removed when recovery ends.\n")
	fmt.Fprintf(&b, "restore_command = %s\n", quoteConf(restoreCommand(archive)))
	b.WriteString("recovery_target_timeline = 'latest'\n")
	if target != nil {
		fmt.Fprintf(&b, "recovery_target_time = %s\n", quoteConf(target.UTC().Format("2006-01-02 15:04:05.999999")+"+00"))
		b.WriteString("recovery_target_inclusive = on\n")
		b.WriteString("recovery_target_action = 'promote'\n")
	}
	if archive != "" {
		if err := checkArchivePath(archive); err != nil {
			return err
		}
	}
	_, err := e.r.WriteFile(filepath.Join(p.data, "conf.d", restoreConfFile), []byte(b.String()), 0o600)
	return err
}

// waitPromoted waits until a recovering server has promoted itself (it
// left recovery); it fails when the server stops.
func (d *Driver) waitPromoted(ctx context.Context, e *env, p nodePaths) error {
	for {
		st, err := queryState(ctx, p)
		if err == nil && !st.inRecovery {
			return nil
		}
		if serverPID(p) == 0 {
			return fmt.Errorf("node %s: the server stopped during recovery: %s", p.id, serverLogTail(e.r, p))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// logMark records the size of a node's server log files.
func logMark(p nodePaths) map[string]int64 {
	m := map[string]int64{}
	files, _ := filepath.Glob(filepath.Join(p.log, "*.log"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			m[f] = st.Size()
		}
	}
	return m
}

// logSince returns what the server logged after mark.
func logSince(p nodePaths, mark map[string]int64) string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(p.log, "*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if off := mark[f]; off <= int64(len(data)) {
			b.Write(data[off:])
		}
	}
	return b.String()
}
