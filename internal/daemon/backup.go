package daemon

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/backup"
	"github.com/dbaasd/dbaasd/internal/model"
)

// archiveDirs names each datastore's archive in the data dir's backup
// storage (engine.Cluster.ArchiveDir).
func archiveDirs(dataDir string) func(datastoreID string) string {
	root := backup.Root(dataDir)
	return func(id string) string { return backup.ArchiveDir(root, id) }
}

// setupBackups builds the backup manager and hands the reconciler its
// hooks (restores, deleted datastores) and the datastore.backup controller.
func (d *Daemon) setupBackups() {
	d.Backups = backup.New(backup.Options{
		Store: d.Store, Root: backup.Root(d.cfg.DataDir), Drivers: d.Drivers, Clusters: d.Reconciler,
		Interval: d.cfg.BackupInterval, Owner: d.cfg.ReplicaID, Logger: d.log, Notify: d.Reconciler.Notify,
	})
	d.Reconciler.SetHooks(d.Backups)
	d.Reconciler.Handle(model.ActDatastoreBackup, d.Backups.HandleBackup)
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
