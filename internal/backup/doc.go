// Package backup runs dbaasd's backups: continuous archiving, periodic base
// backups with retention, point-in-time restores into new datastores, and
// the backups of deleted datastores for their retention period.
//
// What it owns:
//
//   - the backup storage (Storage; Local keeps it under the data dir):
//     <root>/<datastore>/base/<stamp>/… holds base backups and snapshots
//     as the engine driver wrote them; <root>/<datastore>/wal/ is the
//     archive the engine writes PostgreSQL WAL segments or MySQL binary
//     logs into (engine.Cluster.ArchiveDir); staging/ and restore/ are
//     scratch space of backups and restores in progress;
//   - or an S3-compatible object storage (objectstore.Bucket, wired by
//     the daemon from --backup-store), under the
//     same keys <datastore>/base/<stamp>/… and <datastore>/wal/<file>:
//     base backups are uploaded from staging and leave the machine; every
//     archived file is uploaded once as it is indexed (the index only
//     lists uploaded files, so a lost machine restores up to the last of
//     them) and stays in the local archive as a cache, which engines
//     compare against and restores use when it matches its checksum;
//     retention deletes in the bucket and the cache alike. Restores
//     download what they need into restore/ and verify it as always;
//   - the backup records in the store (store.Backups): every backup with
//     the SHA-256 of its files, and the archive index: every archived file
//     with its SHA-256; both verified before a restore uses them;
//   - the scheduler (Manager.Run), which records a datastore.backup action
//     when a datastore has no backup yet or its newest is older than the
//     interval, keeps pulled archives current (MySQL binary logs),
//     indexes what the engines archived and prunes by retention;
//   - the controller of datastore.backup actions (Manager.HandleBackup) and
//     the reconciler hooks: BeforeStart lays down a restored datastore's
//     data before its servers first start; AfterDelete indexes the last
//     archived files of a deleted datastore, whose backups stay for its
//     retention period.
//
// Engines take part through engine.Backuper and engine.Archiver; the
// package never talks to an engine otherwise, and never serves HTTP.
//
// Retention: a datastore's recovery window reaches back at least
// backup_retention_days. Pruning keeps every backup consistent after the
// cutoff (now − retention) plus the newest one at or before it, and the
// archived files from that one's start on; what is older goes. A deleted
// datastore's backups go entirely once retention has passed since its
// deletion. allow_restore is true exactly while a complete backup exists.
package backup
