package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Backups: a snapshot is the master's RDB file, written by BGSAVE and
// copied as dump.rdb once that save completed (rdb_saves counts it; a copy
// opened after another save replaced the file is taken again). It holds
// the data as of the fork, which the BGSAVE reply follows: that moment is
// its ConsistentAt. There is no log to roll it forward (the AOF is off), so
// a restore gets the newest snapshot at or before the target time.
//
// Restore puts the snapshot into the master's data directory before its
// server first starts; Redis loads it on start, and replicas copy it from
// the master.

const (
	snapshotFile = "dump.rdb"
	// saveWait bounds waiting for one BGSAVE.
	saveWait = 10 * time.Minute
)

var _ engine.Backuper = (*Driver)(nil)

// BaseBackup implements engine.Backuper.
func (d *Driver) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	var info engine.BackupInfo
	r, err := d.run(c)
	if err != nil {
		return info, err
	}
	n := currentMaster(ctx, r, c)
	if n == nil {
		return info, fmt.Errorf("%w: cluster %s has no nodes", engine.ErrInvalid, c.ID)
	}
	p := nodePaths(n)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cl, _, err := connect(cctx, unixEndpoint(p.serverSock), creds(r, c, p))
	cancel()
	if err != nil {
		return info, fmt.Errorf("node %s: %w", n.ID, err)
	}
	defer func() { _ = cl.Close() }()
	if err := os.RemoveAll(dst); err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	if err := r.ClaimDir(dst); err != nil {
		return info, err
	}
	info.Kind, info.StartedAt = engine.BackupSnapshot, time.Now().UTC()
	d.log.Info("taking snapshot", "datastore_id", c.ID, "node", n.ID)
	deadline := time.Now().Add(saveWait)
	for time.Now().Before(deadline) {
		saves, err := waitNoSave(ctx, cl)
		if err != nil {
			return info, fmt.Errorf("node %s: %w", n.ID, err)
		}
		if err := cl.BgSave(ctx).Err(); err != nil {
			if strings.Contains(err.Error(), "already in progress") {
				continue
			}
			return info, fmt.Errorf("node %s: BGSAVE: %w", n.ID, err)
		}
		forked := time.Now().UTC()
		after, err := waitNoSave(ctx, cl)
		if err != nil {
			return info, fmt.Errorf("node %s: %w", n.ID, err)
		}
		if after <= saves {
			st, _ := persistence(ctx, cl)
			return info, fmt.Errorf("node %s: BGSAVE failed (status %s): %s", n.ID, st["rdb_last_bgsave_status"], r.LogTail(p.serverLog, 5))
		}
		copied, err := copySnapshot(ctx, r, cl, filepath.Join(p.data, snapshotFile), filepath.Join(dst, snapshotFile), after)
		if err != nil {
			return info, fmt.Errorf("node %s: %w", n.ID, err)
		}
		if copied {
			info.ConsistentAt = forked
			info.Position = fmt.Sprintf("node=%s rdb_saves=%d", n.ID, after)
			return info, nil
		}
		// Another save replaced the file before we opened it: again.
	}
	return info, fmt.Errorf("node %s: no snapshot within %s", n.ID, saveWait)
}

// currentMaster is the node whose server says it is the master, else the
// desired master.
func currentMaster(ctx context.Context, r *proc.Runner, c *engine.Cluster) *engine.Node {
	for i := range c.Nodes {
		if ri, err := readRepl(ctx, r, c, &c.Nodes[i]); err == nil && ri.role == "master" {
			return &c.Nodes[i]
		}
	}
	if m := c.Master(); m != nil {
		return m
	}
	if len(c.Nodes) > 0 {
		return &c.Nodes[0]
	}
	return nil
}

// persistence returns INFO persistence.
func persistence(ctx context.Context, cl *goredis.Client) (map[string]string, error) {
	s, err := cl.Info(ctx, "persistence").Result()
	if err != nil {
		return nil, err
	}
	return parseInfo(s), nil
}

// waitNoSave waits until no background save runs and returns how many
// saves succeeded so far.
func waitNoSave(ctx context.Context, cl *goredis.Client) (int64, error) {
	for {
		st, err := persistence(ctx, cl)
		if err != nil {
			return 0, fmt.Errorf("INFO persistence: %w", err)
		}
		if st["rdb_bgsave_in_progress"] == "0" {
			return infoInt(st, "rdb_saves"), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// copySnapshot copies the RDB file when it is still the one of save
// number saves; it reports false when a later save replaced it first.
func copySnapshot(ctx context.Context, r *proc.Runner, cl *goredis.Client, src, dst string, saves int64) (bool, error) {
	// The data directory is the cluster's OS account's: the file is opened
	// as that account, and a link in its place is refused.
	var in *os.File
	err := r.As(func() error {
		var err error
		in, err = os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("open snapshot: %w", err)
	}
	defer func() { _ = in.Close() }()
	st, err := persistence(ctx, cl)
	if err != nil {
		return false, fmt.Errorf("INFO persistence: %w", err)
	}
	if infoInt(st, "rdb_saves") != saves || st["rdb_bgsave_in_progress"] != "0" {
		return false, nil
	}
	return true, copyOwned(r, in, dst)
}

// copyOwned writes what in holds to path (a temporary file, synced, then
// renamed), owned by the engines' OS user.
func copyOwned(r *proc.Runner, in io.Reader, path string) error {
	return r.As(func() error { return copyOwnedAs(in, path) })
}

func copyOwnedAs(in io.Reader, path string) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy snapshot: %w", err)
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Restore implements engine.Backuper.
func (d *Driver) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	if err := validate(c); err != nil {
		return err
	}
	r, err := d.run(c)
	if err != nil {
		return err
	}
	m := c.Master()
	if m == nil {
		m = &c.Nodes[0]
	}
	p := nodePaths(m)
	stopServer(ctx, r, m) // a server an interrupted create left would overwrite the file
	if err := claimDirs(r, c); err != nil {
		return err
	}
	if err := makeDirs(r, p); err != nil {
		return err
	}
	in, err := os.OpenFile(filepath.Join(from.BaseDir, snapshotFile), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("%w: snapshot of %s: %w", engine.ErrInvalid, from.ClusterID, err)
	}
	defer func() { _ = in.Close() }()
	d.log.Info("restoring snapshot", "datastore_id", c.ID, "node", m.ID, "source_datastore_id", from.ClusterID)
	if err := copyOwned(r, in, filepath.Join(p.data, snapshotFile)); err != nil {
		return fmt.Errorf("node %s: %w", m.ID, err)
	}
	if err := r.RemoveAll(filepath.Join(p.data, "appendonlydir")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
