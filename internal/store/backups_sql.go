package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

const backupCols = `id, datastore_id, project_id, engine, kind, status, location, position, files,
	size_bytes, started_at, finished_at, consistent_at`

// InsertBackup implements Backups.
func (o *ops) InsertBackup(ctx context.Context, b *Backup) error {
	files, err := toJSON(backupFiles(b.Files))
	if err != nil {
		return err
	}
	_, err = o.exec(ctx, `INSERT INTO backups (`+backupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.DatastoreID, b.ProjectID, b.Engine, b.Kind, b.Status, b.Location, b.Position, files,
		b.SizeBytes, ts(b.StartedAt), tsPtr(b.FinishedAt), tsPtr(b.ConsistentAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("insert backup %s: %w", b.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert backup %s: %w", b.ID, err)
	}
	return nil
}

// UpdateBackup implements Backups.
func (o *ops) UpdateBackup(ctx context.Context, b *Backup) error {
	files, err := toJSON(backupFiles(b.Files))
	if err != nil {
		return err
	}
	res, err := o.exec(ctx, `UPDATE backups SET datastore_id = ?, project_id = ?, engine = ?, kind = ?, status = ?,
		location = ?, position = ?, files = ?, size_bytes = ?, started_at = ?, finished_at = ?, consistent_at = ?
		WHERE id = ?`,
		b.DatastoreID, b.ProjectID, b.Engine, b.Kind, b.Status, b.Location, b.Position, files, b.SizeBytes,
		ts(b.StartedAt), tsPtr(b.FinishedAt), tsPtr(b.ConsistentAt), b.ID)
	if err != nil {
		return fmt.Errorf("update backup %s: %w", b.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update backup %s: %w", b.ID, ErrNotFound)
	}
	return nil
}

// DeleteBackup implements Backups.
func (o *ops) DeleteBackup(ctx context.Context, id string) error {
	if _, err := o.exec(ctx, "DELETE FROM backups WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	return nil
}

// ListBackups implements Backups.
func (o *ops) ListBackups(ctx context.Context, datastoreID string) ([]Backup, error) {
	q, args := "SELECT "+backupCols+" FROM backups", []any{}
	if datastoreID != "" {
		q, args = q+" WHERE datastore_id = ?", append(args, datastoreID)
	}
	rows, err := o.query(ctx, q+" ORDER BY started_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []Backup{}
	for rows.Next() {
		var b Backup
		var files string
		var started int64
		var finished, consistent sql.NullInt64
		if err := rows.Scan(&b.ID, &b.DatastoreID, &b.ProjectID, &b.Engine, &b.Kind, &b.Status, &b.Location,
			&b.Position, &files, &b.SizeBytes, &started, &finished, &consistent); err != nil {
			return nil, fmt.Errorf("list backups: %w", err)
		}
		if err := fromJSON(files, &b.Files); err != nil {
			return nil, err
		}
		b.StartedAt, b.FinishedAt, b.ConsistentAt = fromTS(started), fromTSPtr(finished), fromTSPtr(consistent)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return out, nil
}

// backupFiles never encodes a nil list as null.
func backupFiles(f []BackupFile) []BackupFile {
	if f == nil {
		return []BackupFile{}
	}
	return f
}

// PutArchiveFile implements Backups.
func (o *ops) PutArchiveFile(ctx context.Context, f ArchiveFile) error {
	_, err := o.exec(ctx, `INSERT INTO archived_files (datastore_id, name, size_bytes, sha256, archived_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (datastore_id, name) DO NOTHING`,
		f.DatastoreID, f.Name, f.SizeBytes, f.SHA256, ts(f.ArchivedAt))
	if err != nil {
		return fmt.Errorf("record archived file %s: %w", f.Name, err)
	}
	return nil
}

// ListArchiveFiles implements Backups.
func (o *ops) ListArchiveFiles(ctx context.Context, datastoreID string) ([]ArchiveFile, error) {
	rows, err := o.query(ctx, `SELECT datastore_id, name, size_bytes, sha256, archived_at FROM archived_files
		WHERE datastore_id = ? ORDER BY archived_at, name`, datastoreID)
	if err != nil {
		return nil, fmt.Errorf("list archived files: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []ArchiveFile{}
	for rows.Next() {
		var f ArchiveFile
		var at int64
		if err := rows.Scan(&f.DatastoreID, &f.Name, &f.SizeBytes, &f.SHA256, &at); err != nil {
			return nil, fmt.Errorf("list archived files: %w", err)
		}
		f.ArchivedAt = fromTS(at)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list archived files: %w", err)
	}
	return out, nil
}

// DeleteArchiveFiles implements Backups. Names go in batches, within the
// bound parameter limits of both databases.
func (o *ops) DeleteArchiveFiles(ctx context.Context, datastoreID string, names ...string) error {
	const batch = 500
	for len(names) > 0 {
		n := min(batch, len(names))
		args := []any{datastoreID}
		for _, name := range names[:n] {
			args = append(args, name)
		}
		q := "DELETE FROM archived_files WHERE datastore_id = ? AND name IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
		if _, err := o.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("delete archived files: %w", err)
		}
		names = names[n:]
	}
	return nil
}
