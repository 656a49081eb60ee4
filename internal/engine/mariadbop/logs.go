package mariadbop

import (
	"bufio"
	"bytes"
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
)

var _ engine.LogReader = (*Driver)(nil)

// ReadLogs implements engine.LogReader: MariaDB's error log of every
// server, from its pod's output (the image's server writes its error log
// to standard error, which the API server serves from the kubelet), parsed
// as the local runtime parses the log's file (mysql.ParseErrorLine; a line
// that starts no entry continues the one before). So the entries are those
// the pods still hold: a pod that was replaced (a failover, a rolling
// update) took its log with it. The slow query log stays in the server's
// data directory and is not read.
func (d *Driver) ReadLogs(ctx context.Context, c *engine.Cluster, q engine.LogQuery) ([]engine.LogEntry, error) {
	var srcs []kube.LogSource
	for i, n := range sortedNodes(c) {
		srcs = append(srcs, kube.LogSource{NodeID: n.ID, Job: engine.JobMySQLError, Pod: podName(i), Container: mariadbContainer})
	}
	return d.kc.ReadLogs(ctx, kube.Namespace(c.ID), srcs, q, func(raw []byte, src kube.LogSource, start, end time.Time) []engine.LogEntry {
		return parseErrorLog(raw, src.NodeID, start, end)
	})
}

// parseErrorLog turns a pod's output into the node's error log entries
// in [start, end].
func parseErrorLog(raw []byte, nodeID string, start, end time.Time) []engine.LogEntry {
	var out []engine.LogEntry
	var cur *engine.LogEntry
	keep := func() {
		if cur != nil && !cur.Time.Before(start) && !cur.Time.After(end) {
			out = append(out, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := string(bytes.TrimRight(sc.Bytes(), "\r"))
		ts, labels, msg, ok := mysql.ParseErrorLine(line)
		switch {
		case ok:
			keep()
			cur = &engine.LogEntry{NodeID: nodeID, Job: engine.JobMySQLError, Time: ts, Labels: labels, Message: msg}
		case cur != nil && line != "":
			cur.Message += "\n" + line
		}
	}
	keep()
	return out
}
