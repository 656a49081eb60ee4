package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Record is one exported log line, written as one JSON object per line.
type Record struct {
	TS          float64           `json:"ts"` // Unix seconds
	DatastoreID string            `json:"datastore_id"`
	IP          string            `json:"ip"`
	Job         string            `json:"job"`
	Labels      map[string]string `json:"labels"`
	Value       string            `json:"value"`
}

// Sink receives exported log lines of one log group of a project. Write
// either takes every record or fails (the batch is then sent again).
type Sink interface {
	Write(ctx context.Context, projectID, logGroup string, recs []Record) error
}

// ExportDir is where the file sink writes: DataDir/log-export.
func ExportDir(dataDir string) string { return filepath.Join(dataDir, "log-export") }

// FileSink appends the records of each log group to
// Dir/<project>/<log_group>.jsonl.
type FileSink struct {
	Dir string
	mu  sync.Mutex
}

// Path is the file of a log group.
func (f *FileSink) Path(projectID, logGroup string) (string, error) {
	for _, part := range []string{projectID, logGroup} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) {
			return "", fmt.Errorf("log export: unusable path element %q", part)
		}
	}
	return filepath.Join(f.Dir, projectID, logGroup+".jsonl"), nil
}

// Write implements Sink.
func (f *FileSink) Write(_ context.Context, projectID, logGroup string, recs []Record) error {
	path, err := f.Path(projectID, logGroup)
	if err != nil {
		return err
	}
	body, err := encodeRecords(recs)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("log export: %w", err)
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log export: %w", err)
	}
	if _, err := out.Write(body); err != nil {
		_ = out.Close()
		return fmt.Errorf("log export to %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("log export to %s: %w", path, err)
	}
	return nil
}

// HTTPSink POSTs each batch to URL as JSON lines
// (Content-Type application/x-ndjson), naming the project and log group in
// the X-Dbaas-Project-Id and X-Dbaas-Log-Group headers. Any 2xx answer
// accepts the batch.
type HTTPSink struct {
	URL    string
	Client *http.Client // default: one with a 30s timeout
}

// Write implements Sink.
func (h *HTTPSink) Write(ctx context.Context, projectID, logGroup string, recs []Record) error {
	body, err := encodeRecords(recs)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("log export: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("X-Dbaas-Project-Id", projectID)
	req.Header.Set("X-Dbaas-Log-Group", logGroup)
	cl := h.Client
	if cl == nil {
		cl = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("log export: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("log export: %s answered %s: %s", h.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func encodeRecords(recs []Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("log export: %w", err)
		}
	}
	return b.Bytes(), nil
}
