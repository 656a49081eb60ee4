package store

import (
	"context"
	"fmt"
)

// LogOffsets implements Telemetry.
func (o *ops) LogOffsets(ctx context.Context) ([]LogOffset, error) {
	rows, err := o.query(ctx, `SELECT datastore_id, path, log_group, file_id, byte_offset, updated_at
		FROM log_export_offsets ORDER BY datastore_id, path`)
	if err != nil {
		return nil, fmt.Errorf("log offsets: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []LogOffset{}
	for rows.Next() {
		var l LogOffset
		var at int64
		if err := rows.Scan(&l.DatastoreID, &l.Path, &l.LogGroup, &l.FileID, &l.Offset, &at); err != nil {
			return nil, fmt.Errorf("log offsets: %w", err)
		}
		l.UpdatedAt = fromTS(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("log offsets: %w", err)
	}
	return out, nil
}

// PutLogOffset implements Telemetry.
func (o *ops) PutLogOffset(ctx context.Context, l LogOffset) error {
	_, err := o.exec(ctx, `INSERT INTO log_export_offsets (datastore_id, path, log_group, file_id, byte_offset, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (datastore_id, path) DO UPDATE SET log_group = excluded.log_group, file_id = excluded.file_id,
		byte_offset = excluded.byte_offset, updated_at = excluded.updated_at`,
		l.DatastoreID, l.Path, l.LogGroup, l.FileID, l.Offset, ts(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put log offset: %w", err)
	}
	return nil
}

// DeleteLogOffsets implements Telemetry.
func (o *ops) DeleteLogOffsets(ctx context.Context, datastoreID string) error {
	if _, err := o.exec(ctx, "DELETE FROM log_export_offsets WHERE datastore_id = ?", datastoreID); err != nil {
		return fmt.Errorf("delete log offsets of %s: %w", datastoreID, err)
	}
	return nil
}
