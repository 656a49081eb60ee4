package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbaasd/dbaasd/internal/backup"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// The object storage of backups off the machine is a backup storage.
var _ backup.Storage = (*objectstore.Bucket)(nil)

// archiveDirs names each datastore's archive in the data dir's backup
// storage (engine.Cluster.ArchiveDir).
func archiveDirs(dataDir string) func(datastoreID string) string {
	root := backup.Root(dataDir)
	return func(id string) string { return backup.ArchiveDir(root, id) }
}

// setupBackups builds the backup manager and hands the reconciler its
// hooks (restores, deleted datastores) and the datastore.backup controller.
func (d *Daemon) setupBackups(ctx context.Context) error {
	storage, err := d.backupStorage(ctx)
	if err != nil {
		return err
	}
	d.Backups = backup.New(backup.Options{
		Store: d.Store, Root: backup.Root(d.cfg.DataDir), Storage: storage, Drivers: d.Drivers, Clusters: d.Reconciler,
		Interval: d.cfg.BackupInterval, Owner: d.cfg.ReplicaID, Logger: d.log, Notify: d.Reconciler.Notify,
	})
	d.Reconciler.SetHooks(d.Backups)
	d.Reconciler.Handle(model.ActDatastoreBackup, d.Backups.HandleBackup)
	return nil
}

// backupStorage is the object storage of the local runtime's backups (nil:
// the data dir). A server that refuses the credentials or has no such
// bucket keeps dbaasd from starting; one out of reach is logged, and
// backups wait for it (each upload is retried).
func (d *Daemon) backupStorage(ctx context.Context) (backup.Storage, error) {
	c := d.cfg.BackupStore
	if c == nil || d.cfg.Runtime == RuntimeKubernetes {
		return nil, nil // the operator uses the object storage itself
	}
	s, err := objectstore.New(*c)
	if err != nil {
		return nil, fmt.Errorf("--backup-store: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Check(cctx); errors.Is(err, objectstore.ErrRefused) {
		return nil, err
	} else if err != nil {
		d.log.Warn("the backup storage is out of reach; backups wait for it", "backup_store", s.String(), "error", err)
	}
	d.log.Info("backups go to object storage", "backup_store", s.String())
	return s, nil
}

// startBackups runs the backup scheduler beside the reconciler; the
// channel closes when it stopped.
func (d *Daemon) startBackups(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !d.cfg.NoReconciler {
			_ = d.Backups.Run(ctx)
		}
	}()
	return done
}
