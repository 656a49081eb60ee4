package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// samplesPerInsert bounds the rows of one INSERT statement (6 parameters
// each, well below SQLite's and PostgreSQL's limits on parameters).
const samplesPerInsert = 200

// InsertSamples implements Telemetry.
func (o *ops) InsertSamples(ctx context.Context, samples []Sample) error {
	for len(samples) > 0 {
		n := min(len(samples), samplesPerInsert)
		if err := o.insertSamples(ctx, samples[:n]); err != nil {
			return err
		}
		samples = samples[n:]
	}
	return nil
}

func (o *ops) insertSamples(ctx context.Context, samples []Sample) error {
	var b strings.Builder
	b.WriteString("INSERT INTO telemetry_samples (datastore_id, kind, series_key, ip, ts, metrics) VALUES ")
	args := make([]any, 0, len(samples)*6)
	for i, s := range samples {
		finite := make(map[string]float64, len(s.Values))
		for k, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				finite[k] = v
			}
		}
		js, err := json.Marshal(finite)
		if err != nil {
			return fmt.Errorf("insert samples: %w", err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, s.DatastoreID, s.Kind, s.Key, s.IP, ts(s.TS), string(js))
	}
	b.WriteString(" ON CONFLICT (datastore_id, kind, ts, series_key) DO NOTHING")
	if _, err := o.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert samples: %w", err)
	}
	return nil
}

// QuerySamples implements Telemetry.
func (o *ops) QuerySamples(ctx context.Context, datastoreID, kind string, from, to time.Time) ([]Sample, error) {
	rows, err := o.query(ctx, `SELECT series_key, ip, ts, metrics FROM telemetry_samples
		WHERE datastore_id = ? AND kind = ? AND ts >= ? AND ts <= ? ORDER BY ts, series_key`,
		datastoreID, kind, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("query samples of %s: %w", datastoreID, err)
	}
	defer func() { _ = rows.Close() }()
	out := []Sample{}
	for rows.Next() {
		s := Sample{DatastoreID: datastoreID, Kind: kind}
		var at int64
		var js string
		if err := rows.Scan(&s.Key, &s.IP, &at, &js); err != nil {
			return nil, fmt.Errorf("query samples of %s: %w", datastoreID, err)
		}
		s.TS = fromTS(at)
		if err := json.Unmarshal([]byte(js), &s.Values); err != nil {
			return nil, fmt.Errorf("query samples of %s: decode values: %w", datastoreID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query samples of %s: %w", datastoreID, err)
	}
	return out, nil
}

// PruneSamples implements Telemetry.
func (o *ops) PruneSamples(ctx context.Context, before time.Time) (int64, error) {
	res, err := o.exec(ctx, "DELETE FROM telemetry_samples WHERE ts < ?", ts(before))
	if err != nil {
		return 0, fmt.Errorf("prune samples: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
