package cnpg

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

var _ engine.LogReader = (*Driver)(nil)

// instanceContainer is the container of an instance pod that runs
// PostgreSQL under the instance manager.
const instanceContainer = "postgres"

// ReadLogs implements engine.LogReader: the PostgreSQL log of every
// instance, from its pod's output. CloudNativePG's instance manager turns
// each record of the server's CSV log into a JSON line on its standard
// output (logger "postgres", the record's fields under "record"), which
// the API server serves from the kubelet. So the entries are those the
// pods still hold: a pod that was replaced (a failover, a rolling update)
// took its log with it (see kube.ReadLogs).
func (d *Driver) ReadLogs(ctx context.Context, c *engine.Cluster, q engine.LogQuery) ([]engine.LogEntry, error) {
	if q.Job != "" && q.Job != engine.JobPostgreSQL {
		return nil, nil
	}
	ns := kube.Namespace(c.ID)
	cl := &crd.Cluster{}
	if err := d.kc.Get(ctx, clusterRes, ns, clusterName, cl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, kube.Error(err, "get cluster %s/%s", ns, clusterName)
	}
	var srcs []kube.LogSource
	for _, ni := range nodeInstances(c, cl) {
		srcs = append(srcs, kube.LogSource{NodeID: ni.node.ID, Job: engine.JobPostgreSQL, Pod: ni.instance, Container: instanceContainer})
	}
	return d.kc.ReadLogs(ctx, ns, srcs, q, func(raw []byte, src kube.LogSource, start, end time.Time) []engine.LogEntry {
		return parseInstanceLog(raw, src.NodeID, start, end)
	})
}

// instanceLogLine is a line of an instance pod's output.
type instanceLogLine struct {
	Logger string `json:"logger"`
	Msg    string `json:"msg"`
	Record *struct {
		LogTime       string `json:"log_time"`
		UserName      string `json:"user_name"`
		DatabaseName  string `json:"database_name"`
		ProcessID     string `json:"process_id"`
		ErrorSeverity string `json:"error_severity"`
		Message       string `json:"message"`
		Detail        string `json:"detail"`
		Hint          string `json:"hint"`
	} `json:"record"`
}

// parseInstanceLog keeps the server's records of an instance pod's output
// in [start, end], oldest first, with the labels the local runtime's
// PostgreSQL log gives (level, pid, user and database of a session); a
// record's detail and hint follow its message on lines of their own.
func parseInstanceLog(raw []byte, nodeID string, start, end time.Time) []engine.LogEntry {
	var out []engine.LogEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l instanceLogLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Logger != "postgres" || l.Record == nil {
			continue
		}
		r := l.Record
		ts, err := logTime(r.LogTime)
		if err != nil || ts.Before(start) || ts.After(end) {
			continue
		}
		labels := map[string]string{"level": strings.ToLower(r.ErrorSeverity), "pid": r.ProcessID}
		if r.UserName != "" {
			labels["user"] = r.UserName
		}
		if r.DatabaseName != "" {
			labels["database"] = r.DatabaseName
		}
		msg := r.Message
		if r.Detail != "" {
			msg += "\nDETAIL:  " + r.Detail
		}
		if r.Hint != "" {
			msg += "\nHINT:  " + r.Hint
		}
		out = append(out, engine.LogEntry{NodeID: nodeID, Job: engine.JobPostgreSQL, Time: ts.UTC(), Labels: labels, Message: msg})
	}
	return out
}

// logTime reads a CSV log record's time ("2026-01-02 10:11:12.345 UTC", in
// the server's log_timezone).
func logTime(s string) (time.Time, error) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return time.Time{}, errors.New("no time zone")
	}
	loc := time.UTC
	if z := s[i+1:]; z != "UTC" && z != "GMT" {
		if l, err := time.LoadLocation(z); err == nil {
			loc = l
		}
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s[:i], loc)
	return ts.UTC(), err
}
