package telemetry

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

// source is one log file with the instance that writes it.
type source struct {
	file engine.LogFile
	inst model.Instance
	fmt  *logFormat
}

// sources lists the log files of a datastore, with their instances and
// formats, that pass the job and instance filters.
func (s *Service) sources(t *target, job string, ips []string) []source {
	src, ok := t.drv.(engine.LogSource)
	if !ok {
		return nil
	}
	var out []source
	for _, f := range src.LogFiles(t.cluster) {
		in, known := t.insts[f.NodeID]
		lf := formats[f.Format]
		if !known || lf == nil || (job != "" && f.Job != job) || !matchesInstance(in, ips) {
			continue
		}
		out = append(out, source{file: f, inst: in, fmt: lf})
	}
	return out
}

// matchesInstance reports whether an instance is one the ips filter
// names: by IP address (every instance on that address), host:port,
// hostname or floating IP. An empty filter matches every instance.
func matchesInstance(in model.Instance, ips []string) bool {
	if len(ips) == 0 {
		return true
	}
	for _, ip := range ips {
		if ip == in.Host || ip == address(in) || (in.Hostname != "" && ip == in.Hostname) || (in.FloatingIP != "" && ip == in.FloatingIP) {
			return true
		}
	}
	return false
}

// labels gives an entry's labels with the source's.
func (src source) labels(e entry) map[string]string { return lineLabels(e, src.file.Job, src.inst) }

// lineLabels gives an entry's labels with its job's and its instance's.
func lineLabels(e entry, job string, inst model.Instance) map[string]string {
	l := make(map[string]string, len(e.labels)+3)
	for k, v := range e.labels {
		l[k] = v
	}
	l["job"] = job
	l["instance"] = address(inst)
	if inst.Hostname != "" {
		l["hostname"] = inst.Hostname
	}
	return l
}

// Logs implements api.Telemetry: it reads the datastore's log files from
// their ends and returns the newest q.Limit entries in [q.Start, q.End]
// that pass the filters, oldest first. Filters: job exactly; ips (see
// matchesInstance); databases, which keeps only entries that name one of
// the databases (PostgreSQL sessions, MariaDB slow queries and refused
// logins).
func (s *Service) Logs(ctx context.Context, datastoreID string, q model.LogQuery) ([]model.LogLine, error) {
	ds, err := s.store.Datastores().Get(ctx, datastoreID)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", datastoreID, err)
	}
	t, err := s.load(ctx, ds)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	dbs := map[string]bool{}
	for _, d := range q.Databases {
		dbs[d] = true
	}
	keep := func(e entry) bool {
		if e.ts.Before(q.Start) || e.ts.After(q.End) {
			return false
		}
		return len(dbs) == 0 || dbs[e.labels["database"]]
	}
	if reader, ok := t.drv.(engine.LogReader); ok {
		return s.readLogs(ctx, t, reader, q, limit, keep)
	}
	type found struct {
		e   entry
		src source
	}
	var all []found
	for _, src := range s.sources(t, q.Job, q.IPs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A file last written before the range has nothing in it.
		if st, err := os.Stat(src.file.Path); err != nil || st.ModTime().Before(q.Start) {
			continue
		}
		var mine []found
		err := scanBackward(src.file.Path, src.fmt, func(es []entry) bool {
			var chunk []found
			for _, e := range es {
				if keep(e) {
					chunk = append(chunk, found{e, src})
				}
			}
			mine = append(chunk, mine...)
			// Enough, or the chunk began before the range: stop reading.
			return len(mine) < limit && !es[0].ts.Before(q.Start)
		})
		if err != nil {
			s.log.Warn("read log", "datastore_id", datastoreID, "file", src.file.Path, "error", err)
			continue
		}
		if len(mine) > limit {
			mine = mine[len(mine)-limit:]
		}
		all = append(all, mine...)
	}
	out := make([]model.LogLine, 0, len(all))
	for _, f := range all {
		out = append(out, logLine(f.e, f.src.file.Job, f.src.inst))
	}
	return newest(out, limit), nil
}

// logLine is an entry of a job's log on an instance, as the API answers it.
func logLine(e entry, job string, inst model.Instance) model.LogLine {
	return model.LogLine{TS: float64(e.ts.UnixMicro()) / 1e6, IP: inst.Host,
		Value: strings.TrimSpace(e.value), Labels: lineLabels(e, job, inst)}
}

// newest keeps the limit newest lines, oldest first.
func newest(lines []model.LogLine, limit int) []model.LogLine {
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].TS < lines[j].TS })
	if len(lines) > limit {
		lines = lines[len(lines)-limit:]
	}
	return lines
}

// readLogs is Logs for a driver that reads its servers' logs itself (a
// LogReader): the same filters, the same answer.
func (s *Service) readLogs(ctx context.Context, t *target, reader engine.LogReader, q model.LogQuery, limit int, keep func(entry) bool) ([]model.LogLine, error) {
	got, err := reader.ReadLogs(ctx, t.cluster, engine.LogQuery{Job: q.Job, Start: q.Start, End: q.End, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", t.cluster.ID, err)
	}
	var out []model.LogLine
	for _, le := range got {
		in, known := t.insts[le.NodeID]
		e := entry{ts: le.Time, labels: le.Labels, value: le.Message}
		if !known || (q.Job != "" && le.Job != q.Job) || !matchesInstance(in, q.IPs) || !keep(e) {
			continue
		}
		out = append(out, logLine(e, le.Job, in))
	}
	return newest(out, limit), nil
}
