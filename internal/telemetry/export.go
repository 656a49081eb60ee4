package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

const (
	// exportBatch is how many bytes of one file one batch ships at most.
	exportBatch = 1 << 20
	// exportBatches bounds the batches of one file per pass, so that a
	// large backlog does not hold up the other datastores.
	exportBatches = 8
	// markerPath is the path of the offset row that records that export is
	// on, and to which log group.
	markerPath = ""
)

// exportLoop ships new log lines every ExportInterval until ctx ends,
// when this replica holds the lease of the work.
func (s *Service) exportLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ExportInterval)
	defer t.Stop()
	for {
		if s.lead(ctx, "export", s.cfg.ExportInterval) {
			if err := s.ShipOnce(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("log export", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			s.resign(ctx, "export", s.cfg.ExportInterval)
			return
		case <-t.C:
		}
	}
}

// ShipOnce ships the log lines written since the last pass of every
// datastore with log export on. When export is turned on (or moves to
// another log group) it starts from the current end of every file, so
// only new lines are shipped; files that appear later are shipped from
// their start. Offsets are recorded in the store after each batch the sink
// took, so a restart neither loses nor repeats lines (a crash between a
// write and its record repeats that one batch). Offsets of datastores
// whose export was turned off are forgotten.
func (s *Service) ShipOnce(ctx context.Context) error {
	s.shipMu.Lock()
	defer s.shipMu.Unlock()
	snap, err := s.store.DatastoreSnapshot(ctx)
	if err != nil {
		return err
	}
	all, err := s.store.LogOffsets(ctx)
	if err != nil {
		return err
	}
	known := map[string]map[string]store.LogOffset{}
	for _, o := range all {
		if known[o.DatastoreID] == nil {
			known[o.DatastoreID] = map[string]store.LogOffset{}
		}
		known[o.DatastoreID][o.Path] = o
	}
	exporting := map[string]bool{}
	var errs []error
	for i := range snap.Rows {
		ds := &snap.Rows[i] // shared: read only
		if ds.Deleted || ds.LogGroup == "" || ds.CreationFinishedAt == nil || ds.Status == model.StatusPendingDelete {
			continue
		}
		exporting[ds.ID] = true
		if err := s.shipDatastore(ctx, ds, known[ds.ID]); err != nil {
			errs = append(errs, fmt.Errorf("datastore %s: %w", ds.ID, err))
		}
	}
	for id := range known {
		if !exporting[id] {
			if err := s.store.DeleteLogOffsets(ctx, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) shipDatastore(ctx context.Context, ds *model.Datastore, known map[string]store.LogOffset) error {
	t, err := s.load(ctx, ds)
	if err != nil {
		return err
	}
	now := s.now()
	srcs := s.sources(t, "", nil)
	if m, ok := known[markerPath]; !ok || m.LogGroup != ds.LogGroup {
		// Just turned on: start at the end of what is there.
		for _, src := range srcs {
			st, err := os.Stat(src.file.Path)
			if err != nil {
				continue
			}
			if err := s.store.PutLogOffset(ctx, store.LogOffset{DatastoreID: ds.ID, Path: src.file.Path, LogGroup: ds.LogGroup,
				FileID: fileID(st), Offset: st.Size(), UpdatedAt: now}); err != nil {
				return err
			}
		}
		s.log.Info("log export on", "datastore_id", ds.ID, "log_group", ds.LogGroup, "files", len(srcs))
		return s.store.PutLogOffset(ctx, store.LogOffset{DatastoreID: ds.ID, Path: markerPath, LogGroup: ds.LogGroup, UpdatedAt: now})
	}
	for _, src := range srcs {
		if err := s.shipFile(ctx, ds, src, known[src.file.Path], now); err != nil {
			return err
		}
	}
	return nil
}

// shipFile ships what was appended to one file since its offset.
func (s *Service) shipFile(ctx context.Context, ds *model.Datastore, src source, off store.LogOffset, now time.Time) error {
	st, err := os.Stat(src.file.Path)
	if err != nil {
		return nil // not written yet
	}
	id := fileID(st)
	pos := off.Offset
	if off.LogGroup != ds.LogGroup || off.FileID != id || st.Size() < pos {
		pos = 0 // a new file since export started, or one replaced or truncated (rotated)
	}
	for range exportBatches {
		if pos >= st.Size() {
			return nil
		}
		entries, next, err := readForward(src.file.Path, src.fmt, pos, exportBatch, now)
		if err != nil || next == pos {
			return err
		}
		recs := make([]Record, 0, len(entries))
		for _, e := range entries {
			recs = append(recs, Record{TS: float64(e.ts.UnixMicro()) / 1e6, DatastoreID: ds.ID, IP: src.inst.Host,
				Job: src.file.Job, Labels: src.labels(e), Value: e.value})
		}
		if len(recs) > 0 {
			if err := s.sink.Write(ctx, ds.ProjectID, ds.LogGroup, recs); err != nil {
				s.self.shipped(0, err)
				return err
			}
			s.self.shipped(len(recs), nil)
		}
		pos = next
		if err := s.store.PutLogOffset(ctx, store.LogOffset{DatastoreID: ds.ID, Path: src.file.Path, LogGroup: ds.LogGroup,
			FileID: id, Offset: pos, UpdatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// fileID identifies a file across renames and rewrites: device and inode.
func fileID(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", sys.Dev, sys.Ino)
	}
	return ""
}
