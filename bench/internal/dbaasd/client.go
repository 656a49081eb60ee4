package dbaasd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client calls dbaasd's API with one project's token.
type Client struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client of the API at url.
func NewClient(url, token string) *Client {
	return &Client{URL: url, Token: token, HTTP: &http.Client{Timeout: time.Minute}}
}

// Do sends a request (body: nil or a value encoded as JSON) and returns
// the status and the response body.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

// Get requests path and wants 200; it returns the body.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	st, b, err := c.Do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %s", path, st, truncate(b))
	}
	return b, nil
}

// TypeIDs returns the datastore type ID of every engine in the catalog.
func (c *Client) TypeIDs(ctx context.Context) (map[string]string, error) {
	b, err := c.Get(ctx, "/v1/datastore-types")
	if err != nil {
		return nil, err
	}
	var r struct {
		Types []struct {
			ID     string `json:"id"`
			Engine string `json:"engine"`
		} `json:"datastore-types"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("datastore types: %w", err)
	}
	out := map[string]string{}
	for _, t := range r.Types {
		out[t.Engine] = t.ID
	}
	return out, nil
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// InUse returns how much of a quota resource the project uses (from
// GET /v1/quotas, e.g. "prometheus_metrics_tokens").
func (c *Client) InUse(ctx context.Context, resource string) (int64, error) {
	b, err := c.Get(ctx, "/v1/quotas")
	if err != nil {
		return 0, err
	}
	var r struct {
		Quotas []map[string]any `json:"quotas"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Quotas) == 0 {
		return 0, fmt.Errorf("quotas: unexpected answer %s", truncate(b))
	}
	n, ok := r.Quotas[0]["in_use_"+resource].(float64)
	if !ok {
		return 0, fmt.Errorf("quotas: no in_use_%s in %s", resource, truncate(b))
	}
	return int64(n), nil
}
