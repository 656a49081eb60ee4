package kube

import (
	"context"
	"errors"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// LogTailLines bounds the lines read of one container per request: a
// server's output may mix its log with other programs' lines.
const LogTailLines = 50000

// LogSource is a container whose output holds a node's log of one job.
type LogSource struct {
	NodeID, Job    string
	Pod, Container string
}

// ReadLogs is what the drivers' engine.LogReader reads: the output of
// each source since q.Start (its newest LogTailLines lines), turned into
// entries by parse (which keeps those up to q.End), the newest q.Limit of
// each source. So the entries are those the pods still hold: a pod that
// was replaced (a failover, a rolling update) took its log with it.
// Sources whose output cannot be read are left out; an error means that
// none could be read.
func (k *Client) ReadLogs(ctx context.Context, ns string, srcs []LogSource, q engine.LogQuery,
	parse func(raw []byte, src LogSource, start, end time.Time) []engine.LogEntry) ([]engine.LogEntry, error) {
	var out []engine.LogEntry
	var errs []error
	for _, src := range srcs {
		if q.Job != "" && q.Job != src.Job {
			continue
		}
		raw, err := k.PodLogTail(ctx, ns, src.Pod, src.Container, q.Start, LogTailLines)
		if err != nil {
			errs = append(errs, Error(err, "log of pod %s/%s", ns, src.Pod))
			continue
		}
		mine := parse(raw, src, q.Start, q.End)
		if q.Limit > 0 && len(mine) > q.Limit {
			mine = mine[len(mine)-q.Limit:]
		}
		out = append(out, mine...)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
