package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/service"
)

// Telemetry answers the metrics and logs operations from what dbaasd
// collected from the engines.
type Telemetry interface {
	// Metrics returns series by metric name, then by instance (or database
	// when perDatabase), and the step in seconds between samples.
	Metrics(ctx context.Context, datastoreID string, perDatabase bool, start, end time.Time) (map[string]map[string]model.Series, int, error)
	// Logs returns the log lines of a datastore matching q, oldest first.
	Logs(ctx context.Context, datastoreID string, q model.LogQuery) ([]model.LogLine, error)
}

const maxRange = 31 * 24 * time.Hour

// timeRange parses start/end (defaults: the last hour).
func timeRange(start, end *string, now time.Time) (time.Time, time.Time, error) {
	e := now.UTC()
	s := e.Add(-time.Hour)
	var err error
	if end != nil {
		if e, err = time.Parse(TimeFormat, *end); err != nil {
			return s, e, service.Invalid("end", "must be YYYY-MM-DDTHH:MM:SS (UTC), got %q", *end)
		}
		if start == nil {
			s = e.Add(-time.Hour)
		}
	}
	if start != nil {
		if s, err = time.Parse(TimeFormat, *start); err != nil {
			return s, e, service.Invalid("start", "must be YYYY-MM-DDTHH:MM:SS (UTC), got %q", *start)
		}
	}
	if !s.Before(e) {
		return s, e, service.Invalid("start", "must be before end (%s is not before %s)", ts(s), ts(e))
	}
	if e.Sub(s) > maxRange {
		return s, e, service.Invalid("start", "the range may span at most 31 days")
	}
	return s, e, nil
}

func (s *Server) metrics(ctx context.Context, dsID string, perDB bool, start, end *string) (gen.MetricsResponse, error) {
	var out gen.MetricsResponse
	if _, err := s.svc.GetDatastore(ctx, callerFrom(ctx), dsID); err != nil {
		return out, err
	}
	from, to, err := timeRange(start, end, time.Now())
	if err != nil {
		return out, err
	}
	out.Metrics.AdditionalProperties = map[string]map[string]gen.Metric{}
	if s.telemetry == nil {
		return out, nil
	}
	series, step, err := s.telemetry.Metrics(ctx, dsID, perDB, from, to)
	if err != nil {
		return out, err
	}
	out.Metrics.Step = step
	for name, byKey := range series {
		m := map[string]gen.Metric{}
		for key, sr := range byKey {
			m[key] = metricOut(dsID, sr)
		}
		out.Metrics.AdditionalProperties[name] = m
	}
	return out, nil
}

func metricOut(dsID string, sr model.Series) gen.Metric {
	m := gen.Metric{DatastoreId: id(dsID), Ip: sr.IP, Timestamps: sr.Timestamps, Values: sr.Values}
	if m.Timestamps == nil {
		m.Timestamps = []float64{}
	}
	if m.Values == nil {
		m.Values = []float64{}
	}
	if n := len(sr.Values); n > 0 {
		lo, hi, sum := sr.Values[0], sr.Values[0], 0.0
		for _, v := range sr.Values {
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		avg, last := sum/float64(n), sr.Values[n-1]
		m.Min, m.Max, m.Avg, m.Last = &lo, &hi, &avg, &last
	}
	return m
}

func (s *Server) GetDatastoreMetrics(ctx context.Context, r gen.GetDatastoreMetricsRequestObject) (gen.GetDatastoreMetricsResponseObject, error) {
	out, err := s.metrics(ctx, r.DatastoreId.String(), false, r.Params.Start, r.Params.End)
	if err != nil {
		return nil, err
	}
	return gen.GetDatastoreMetrics200JSONResponse(out), nil
}

func (s *Server) GetDatastoreDatabasesMetrics(ctx context.Context, r gen.GetDatastoreDatabasesMetricsRequestObject) (gen.GetDatastoreDatabasesMetricsResponseObject, error) {
	out, err := s.metrics(ctx, r.DatastoreId.String(), true, r.Params.Start, r.Params.End)
	if err != nil {
		return nil, err
	}
	return gen.GetDatastoreDatabasesMetrics200JSONResponse(out), nil
}

func splitList(p *string) []string {
	if p == nil || *p == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(*p, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) GetDatastoreLogs(ctx context.Context, r gen.GetDatastoreLogsRequestObject) (gen.GetDatastoreLogsResponseObject, error) {
	dsID := r.DatastoreId.String()
	if _, err := s.svc.GetDatastore(ctx, callerFrom(ctx), dsID); err != nil {
		return nil, err
	}
	from, to, err := timeRange(r.Params.Start, r.Params.End, time.Now())
	if err != nil {
		return nil, err
	}
	q := model.LogQuery{Job: deref(r.Params.Job), Start: from, End: to, Limit: 100, IPs: splitList(r.Params.Ips),
		Databases: splitList(r.Params.Databases)}
	if r.Params.Limit != nil {
		if *r.Params.Limit < 1 || *r.Params.Limit > 10000 {
			return nil, service.Invalid("limit", "must be between 1 and 10000, got %d", *r.Params.Limit)
		}
		q.Limit = *r.Params.Limit
	}
	out := gen.GetDatastoreLogs200JSONResponse{Logs: []gen.LogEntry{}}
	if s.telemetry == nil {
		return out, nil
	}
	lines, err := s.telemetry.Logs(ctx, dsID, q)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		labels := l.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out.Logs = append(out.Logs, gen.LogEntry{DatastoreId: dsID, Ip: l.IP, Labels: labels, Ts: l.TS, Value: l.Value})
	}
	return out, nil
}
