package kuberedis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Backups.
//
// A backup is an RDB snapshot of the master, as on the local runtime
// (engine.BackupSnapshot), taken by dbaasd itself: it asks the master for
// a full copy of its dataset as a replica would (SYNC, as the internal
// user, through the node's Service) and writes what the master sends to
// the backup's directory; dbaasd's catalogue keeps it like any other.
//
// A restore must put that file on the new datastore's first volume before
// its server first starts, and only the pod can write there: Restore
// uploads the file to the object storage (Options.ObjectStore) and writes
// the Secret seedSecret naming it, with the storage's credentials; every
// pod starts with an init container (`dbaasd redis-seed`, RunSeed) that,
// in the first pod and on an empty volume only, downloads the file before
// Redis starts. Once the datastore runs, Ensure deletes the Secret and the
// uploaded file.

// Names of the restore's seed.
const (
	seedSecret    = "redis-seed"
	seedContainer = "seed"
	// SeedSubcommand is the dbaasd subcommand that must call RunSeed.
	SeedSubcommand = "redis-seed"
	snapshotFile   = "dump.rdb"
	// syncWait bounds how long the master may take to send its snapshot.
	syncWait = 10 * time.Minute
)

// Environment variables of the seed container, from seedSecret.
var seedEnv = []string{"SEED_ENDPOINT", "SEED_REGION", "SEED_BUCKET", "SEED_KEY", "SEED_ACCESS_KEY", "SEED_SECRET_KEY"}

var _ engine.Backuper = (*Backups)(nil)

// Backups is the driver of a deployment with an object storage, through
// which restores reach the pods: the Driver, and engine.Backuper.
type Backups struct{ *Driver }

// BaseBackup implements engine.Backuper: the master's snapshot, sent to
// dbaasd as to a new replica.
func (b *Backups) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	info := engine.BackupInfo{Kind: engine.BackupSnapshot}
	st, err := b.read(ctx, c)
	if err != nil {
		return info, err
	}
	obs := b.observe(ctx, c, st)
	var master *engine.Node
	for i, n := range sortedNodes(c) {
		if obs.Nodes[i].Role == engine.RoleMaster {
			master = &n
		}
	}
	if master == nil {
		return info, fmt.Errorf("datastore %s has no master to take a snapshot of: %s", c.ID, kube.Describe(obs))
	}
	if err := os.RemoveAll(dst); err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return info, fmt.Errorf("snapshot: %w", err)
	}
	info.StartedAt = time.Now().UTC()
	b.log.Info("taking snapshot", "datastore_id", c.ID, "node", master.ID)
	forked, err := syncSnapshot(ctx, c, serverAddr(*master), filepath.Join(dst, snapshotFile))
	if err != nil {
		return info, fmt.Errorf("node %s: %w", master.ID, err)
	}
	info.ConsistentAt = forked
	info.Position = "node=" + master.ID
	return info, nil
}

// syncSnapshot asks the server at addr for its dataset (AUTH as the
// internal user, then SYNC) and writes the RDB it sends to path. It
// returns when the server started the snapshot (its answer's first byte:
// it forks, then sends newlines while it writes).
func syncSnapshot(ctx context.Context, c *engine.Cluster, addr, path string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return time.Time{}, err
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	user, pass := redis.InternalUser(c)
	r := bufio.NewReader(conn)
	if _, err := fmt.Fprintf(conn, "*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(user), user, len(pass), pass); err != nil {
		return time.Time{}, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return time.Time{}, err
	}
	if !strings.HasPrefix(line, "+OK") {
		return time.Time{}, fmt.Errorf("AUTH: %s", strings.TrimSpace(line))
	}
	started := time.Now().UTC()
	if _, err := io.WriteString(conn, "SYNC\r\n"); err != nil {
		return time.Time{}, err
	}
	// Newlines keep the link alive while the server writes its snapshot;
	// then "$<length>".
	var size int64
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return time.Time{}, fmt.Errorf("SYNC: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "$"):
			size, err = strconv.ParseInt(line[1:], 10, 64)
			if err != nil || size < 9 {
				return time.Time{}, fmt.Errorf("SYNC: unexpected answer %q", line)
			}
		default:
			return time.Time{}, fmt.Errorf("SYNC: %s", line)
		}
		break
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return time.Time{}, err
	}
	defer func() { _ = os.Remove(tmp) }()
	head := make([]byte, 5)
	if _, err := io.ReadFull(r, head); err != nil {
		_ = f.Close()
		return time.Time{}, fmt.Errorf("SYNC: %w", err)
	}
	if string(head) != "REDIS" {
		_ = f.Close()
		return time.Time{}, fmt.Errorf("SYNC: the server sent no RDB file (%q)", head)
	}
	_, err = f.Write(head)
	if err == nil {
		_, err = io.CopyN(f, r, size-int64(len(head)))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("SYNC: %w", err)
	}
	return started, os.Rename(tmp, path)
}

// seed is how a restore's snapshot reaches the new datastore's first pod:
// the storage's key is in the Secret, with the storage's credentials.
func (d *Driver) seed() kube.Handoff {
	return kube.Handoff{Store: d.opts.ObjectStore, Secret: seedSecret, Prefix: "redis-restore"}
}

// Restore implements engine.Backuper: the snapshot goes to the object
// storage, and the seed Secret tells the new datastore's first pod where
// it is (see RunSeed); Ensure then starts the pods.
func (b *Backups) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	src := filepath.Join(from.BaseDir, snapshotFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%w: snapshot of %s: %w", engine.ErrInvalid, from.ClusterID, err)
	}
	h := b.seed()
	key := h.Key(c.ID, snapshotFile)
	o := b.opts.ObjectStore
	full := key // the pod reads the bucket without the storage's prefix
	if p := strings.Trim(o.Prefix, "/"); p != "" {
		full = p + "/" + key
	}
	b.log.Info("restoring snapshot", "datastore_id", c.ID, "source_datastore_id", from.ClusterID)
	return b.kc.PutHandoff(ctx, c, h, key, src, map[string][]byte{
		"SEED_ENDPOINT": []byte(o.Endpoint), "SEED_REGION": []byte(o.Region), "SEED_BUCKET": []byte(o.Bucket),
		"SEED_KEY": []byte(full), "SEED_ACCESS_KEY": []byte(o.AccessKey), "SEED_SECRET_KEY": []byte(o.SecretKey),
	})
}

// dropSeed removes a restore's seed once the datastore runs: the Secret,
// so that a first pod that loses its volume later starts as a replica of
// the master rather than from the old snapshot, and the uploaded file.
func (d *Driver) dropSeed(ctx context.Context, c *engine.Cluster) error {
	data, err := d.kc.HandedOff(ctx, c.ID, d.seed())
	if err != nil || data == nil {
		return err
	}
	return d.kc.DropHandoff(ctx, c.ID, d.seed())
}

// RunSeed is the seed container of a pod (the `dbaasd redis-seed`
// subcommand): in the StatefulSet's first pod, on a volume without a
// dataset, it downloads the restore's snapshot the SEED_* variables name
// into the data directory. Anywhere else, or without a seed, it does
// nothing.
func RunSeed(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments", SeedSubcommand)
	}
	key := os.Getenv("SEED_KEY")
	if key == "" || podIndex(os.Getenv("POD_NAME")) != 0 {
		return nil
	}
	dst := filepath.Join(redis.PodDataDir, snapshotFile)
	if _, err := os.Stat(dst); err == nil {
		return nil // the datastore started already
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	store, err := objectstore.New(objectstore.Config{Endpoint: os.Getenv("SEED_ENDPOINT"), Region: os.Getenv("SEED_REGION"),
		Bucket: os.Getenv("SEED_BUCKET"), AccessKey: os.Getenv("SEED_ACCESS_KEY"), SecretKey: os.Getenv("SEED_SECRET_KEY")})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), syncWait)
	defer cancel()
	in, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", SeedSubcommand, err)
	}
	defer func() { _ = in.Close() }()
	tmp := dst + ".seed"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, in)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("%s: %w", SeedSubcommand, err)
	}
	fmt.Printf("%s: %d bytes of the restored snapshot in %s\n", SeedSubcommand, n, dst)
	return os.Rename(tmp, dst)
}
