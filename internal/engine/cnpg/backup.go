package cnpg

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// backupFile is what BaseBackup writes into dbaasd's backup storage: the
// record of a backup the operator's instance took into the object store
// (the data itself is in the bucket).
const backupFile = "cnpg-backup.json"

// backupRecord locates a base backup in the object store.
type backupRecord struct {
	Name        string    `json:"name"`      // the Backup object
	BackupID    string    `json:"backup_id"` // barman's id
	ServerName  string    `json:"server_name"`
	Destination string    `json:"destination"`
	BeginWAL    string    `json:"begin_wal"`
	EndWAL      string    `json:"end_wal"`
	BeginLSN    string    `json:"begin_lsn"`
	EndLSN      string    `json:"end_lsn"`
	StartedAt   time.Time `json:"started_at"`
	StoppedAt   time.Time `json:"stopped_at"`
}

var (
	_ engine.Backuper = (*Driver)(nil)
	_ engine.Archiver = (*Driver)(nil)
)

// BaseBackup implements engine.Backuper: a CNPG Backup (barman-cloud into
// the object store) of the running cluster; dst receives its record.
func (d *Driver) BaseBackup(ctx context.Context, c *engine.Cluster, dst string) (engine.BackupInfo, error) {
	if d.opts.ObjectStore == nil {
		return engine.BackupInfo{}, fmt.Errorf("%w: the Kubernetes runtime has no object storage for backups (--backup-store)", engine.ErrUnsupported)
	}
	ns := kube.Namespace(c.ID)
	b := &crd.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns,
		Name: "backup-" + strconv.FormatInt(time.Now().UTC().UnixMilli(), 36), Labels: kube.Labels(c)}}
	b.Spec.Cluster.Name = clusterName
	b.Spec.Method = crd.BackupMethodBarmanObjectStore
	if err := d.kc.Create(ctx, backupRes, b); err != nil {
		return engine.BackupInfo{}, kube.Error(err, "create backup")
	}
	wctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for b.Status.Phase != crd.BackupPhaseCompleted {
		if b.Status.Phase == crd.BackupPhaseFailed {
			return engine.BackupInfo{}, fmt.Errorf("backup %s/%s failed: %s", ns, b.Name, b.Status.Error)
		}
		select {
		case <-wctx.Done():
			return engine.BackupInfo{}, fmt.Errorf("backup %s/%s not done (phase %q): %w", ns, b.Name, b.Status.Phase, wctx.Err())
		case <-time.After(d.opts.Poll):
		}
		if err := d.kc.Get(wctx, backupRes, ns, b.Name, b); err != nil {
			return engine.BackupInfo{}, kube.Error(err, "get backup")
		}
	}
	st := b.Status
	if st.StartedAt == nil || st.StoppedAt == nil {
		return engine.BackupInfo{}, fmt.Errorf("backup %s/%s completed without start and stop times", ns, b.Name)
	}
	rec := backupRecord{Name: b.Name, BackupID: st.BackupID, ServerName: st.ServerName, Destination: st.DestinationPath,
		BeginWAL: st.BeginWal, EndWAL: st.EndWal, BeginLSN: st.BeginLSN, EndLSN: st.EndLSN,
		StartedAt: st.StartedAt.UTC(), StoppedAt: st.StoppedAt.UTC()}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return engine.BackupInfo{}, err
	}
	if err := os.RemoveAll(dst); err != nil {
		return engine.BackupInfo{}, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return engine.BackupInfo{}, err
	}
	if err := os.WriteFile(filepath.Join(dst, backupFile), append(data, '\n'), 0o644); err != nil {
		return engine.BackupInfo{}, err
	}
	return engine.BackupInfo{Kind: engine.BackupBase, StartedAt: rec.StartedAt, ConsistentAt: rec.StoppedAt, Position: string(data)}, nil
}

// Restore implements engine.Backuper: the new cluster is created to
// bootstrap by recovery from the source's base backup and WAL in the
// object store, up to the target time (or the end of the archive).
func (d *Driver) Restore(ctx context.Context, c *engine.Cluster, from engine.RestoreSource) error {
	if d.opts.ObjectStore == nil {
		return fmt.Errorf("%w: the Kubernetes runtime has no object storage for backups (--backup-store)", engine.ErrUnsupported)
	}
	var rec backupRecord
	data, err := os.ReadFile(filepath.Join(from.BaseDir, backupFile))
	if err != nil {
		return fmt.Errorf("restore: read the backup's record: %w", err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("restore: the backup's record: %w", err)
	}
	if err := d.kc.EnsureNamespace(ctx, kube.Namespace(c.ID), kube.Labels(c)); err != nil {
		return err
	}
	if err := d.ensureObjectStoreSecret(ctx, c); err != nil {
		return err
	}
	if err := d.ensureSecret(ctx, kube.Namespace(c.ID), superuserSecret, c, map[string][]byte{
		corev1.BasicAuthUsernameKey: []byte(superuser), corev1.BasicAuthPasswordKey: []byte(c.AdminPassword),
	}, corev1.SecretTypeBasicAuth); err != nil {
		return err
	}
	origin := d.objectStore(from.ClusterID)
	origin.ServerName = rec.ServerName
	target := &crd.RecoveryTarget{BackupID: rec.BackupID}
	if from.Target != nil {
		// PostgreSQL's own form, with a numeric offset: CNPG rewrites an
		// RFC 3339 time with a trailing Z, which the server refuses at
		// start (no time zone abbreviations are loaded then).
		target.TargetTime = recoveryTargetTime(*from.Target)
	}
	cl := &crd.Cluster{ObjectMeta: metav1.ObjectMeta{Name: clusterName, Namespace: kube.Namespace(c.ID)}}
	err = d.kc.Apply(ctx, clusterRes, cl, func() error {
		if !cl.CreationTimestamp.IsZero() {
			return nil // an earlier call created it; the bootstrap is fixed
		}
		cl.Labels = kube.Labels(c)
		cl.Spec.Bootstrap = &crd.BootstrapConfiguration{Recovery: &crd.BootstrapRecovery{
			Source: "origin", RecoveryTarget: target,
			// No application database or user of CNPG's (see applySpec).
			Database: "postgres", Owner: superuser, Secret: &crd.LocalObjectReference{Name: superuserSecret},
		}}
		cl.Spec.ExternalClusters = []crd.ExternalCluster{{Name: "origin", BarmanObjectStore: origin}}
		return d.applySpec(cl, c)
	})
	return kube.Error(err, "create cluster %s to recover from %s", c.ID, from.ClusterID)
}

// SyncArchive implements engine.Archiver: the servers archive WAL into
// the object store themselves; with force, the current segment is
// switched and the call returns once the primary reports it archived.
func (d *Driver) SyncArchive(ctx context.Context, c *engine.Cluster, force bool) (time.Time, error) {
	if !force || d.opts.ObjectStore == nil {
		return time.Time{}, nil
	}
	var synced time.Time
	err := d.onPrimary(ctx, c, "postgres", func(conn *pgx.Conn) error {
		var seg string
		synced = time.Now().UTC()
		// A record in the current segment makes the switch happen even
		// when nothing was written since the last one.
		if _, err := conn.Exec(ctx, "SELECT pg_logical_emit_message(false, 'dbaasd', 'archive')"); err != nil {
			return sqlError(err, "write WAL")
		}
		if err := conn.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
			return sqlError(err, "switch WAL")
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		for {
			var last string
			if err := conn.QueryRow(wctx, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").Scan(&last); err != nil {
				return sqlError(err, "archiver status")
			}
			// Segment names of one timeline sort by position.
			if len(last) >= 24 && last[:24] >= seg {
				return nil
			}
			select {
			case <-wctx.Done():
				return fmt.Errorf("WAL segment %s not archived (last %q): %w", seg, last, wctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	return synced, err
}

// recoveryTargetTime renders a point in time as recovery_target_time.
func recoveryTargetTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999-07")
}

var _ engine.RetentionApplier = (*Driver)(nil)

// AppliesRetention implements engine.RetentionApplier: with object
// storage, the operator's instances prune the bucket by the Cluster's
// retention policy (see retentionPolicy).
func (d *Driver) AppliesRetention() bool { return d.opts.ObjectStore != nil }

// PurgeBackups implements engine.RetentionApplier: it deletes the
// datastore's barman server directory (its base backups and WAL) from the
// object store.
func (d *Driver) PurgeBackups(ctx context.Context, datastoreID string) error {
	o := d.opts.ObjectStore
	if o == nil {
		return nil
	}
	b, err := objectstore.New(*o)
	if err != nil {
		return err
	}
	if err := b.DeletePrefix(ctx, serverName(datastoreID)); err != nil {
		return fmt.Errorf("purge the backups of %s: %w", datastoreID, err)
	}
	return nil
}

// retentionPolicy is the Cluster's retention policy for a datastore's
// backup_retention_days: barman's recovery window of that many days keeps
// every point since restorable, as dbaasd's own retention does (the base
// backups after the window's start and the newest one before it, and the
// WAL they need).
func retentionPolicy(c *engine.Cluster) string {
	return strconv.Itoa(max(c.BackupRetentionDays, 1)) + "d"
}
