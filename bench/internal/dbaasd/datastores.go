package dbaasd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrFailed is returned when a datastore ends in ERROR.
var ErrFailed = errors.New("datastore failed")

// APIError is an answer of the API other than the expected one.
type APIError struct {
	Op     string
	Status int
	Body   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.Op, e.Status, e.Message())
}

// Message is the message of the API's error body (or the body itself).
func (e *APIError) Message() string {
	var b struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(e.Body), &b) == nil && b.Error.Message != "" {
		return b.Error.Message
	}
	return strings.TrimSpace(e.Body)
}

// CreateDatastore asks for a small datastore of an engine and returns its ID.
func (c *Client) CreateDatastore(ctx context.Context, typeID, engine, name string, nodes int) (string, error) {
	ds := map[string]any{
		"name": name, "type_id": typeID, "subnet_id": "6f1c0000-0000-4000-8000-000000000000", "node_count": nodes,
		"flavor": map[string]any{"vcpus": 1, "ram": 1024, "disk": 5},
	}
	if engine == "redis" {
		ds["redis_password"] = "Redis-Secret-1"
	}
	st, b, err := c.Do(ctx, http.MethodPost, "/v1/datastores", map[string]any{"datastore": ds})
	if err != nil {
		return "", err
	}
	if st != http.StatusCreated {
		return "", &APIError{Op: "create " + engine + " datastore", Status: st, Body: truncate(b)}
	}
	var r struct {
		Datastore struct {
			ID string `json:"id"`
		} `json:"datastore"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Datastore.ID == "" {
		return "", fmt.Errorf("create %s datastore: no id in %s", engine, truncate(b))
	}
	return r.Datastore.ID, nil
}

// Status returns a datastore's status ("" with found=false after it is gone).
func (c *Client) Status(ctx context.Context, id string) (status string, found bool, err error) {
	st, b, err := c.Do(ctx, http.MethodGet, "/v1/datastores/"+id, nil)
	if err != nil {
		return "", false, err
	}
	if st == http.StatusNotFound {
		return "", false, nil
	}
	if st != http.StatusOK {
		return "", false, fmt.Errorf("GET datastore %s: status %d: %s", id, st, truncate(b))
	}
	var r struct {
		Datastore struct {
			Status string `json:"status"`
		} `json:"datastore"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", true, fmt.Errorf("GET datastore %s: %w", id, err)
	}
	return r.Datastore.Status, true, nil
}

// WaitStatus polls a datastore every interval until its status is want. It
// fails early when the datastore ends in ERROR (with the datastore's
// actions in the error).
func (c *Client) WaitStatus(ctx context.Context, id, want string, interval, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		s, found, err := c.Status(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("datastore %s vanished while waiting for %s", id, want)
		}
		if s == want {
			return nil
		}
		if s == "ERROR" {
			_, actions, _ := c.Do(ctx, http.MethodGet, "/v1/actions?datastore_id="+id, nil)
			return fmt.Errorf("%w: %s: %s", ErrFailed, id, failedActions(actions))
		}
		last = s
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return fmt.Errorf("datastore %s still %s after %s (want %s)", id, last, timeout, want)
}

// DeleteDatastore deletes a datastore and waits until dbaasd reports it
// DELETED (or gone), that is until its servers are stopped and removed.
func (c *Client) DeleteDatastore(ctx context.Context, id string, timeout time.Duration) error {
	if err := c.RequestDelete(ctx, id); err != nil {
		return err
	}
	return c.WaitDeleted(ctx, id, timeout)
}

// RequestDelete asks for a datastore's deletion (a datastore already being
// deleted, or gone, is fine).
func (c *Client) RequestDelete(ctx context.Context, id string) error {
	st, b, err := c.Do(ctx, http.MethodDelete, "/v1/datastores/"+id, nil)
	if err != nil {
		return err
	}
	switch {
	case st < 300 || st == http.StatusNotFound:
		return nil
	case st == http.StatusBadRequest && strings.Contains(string(b), "already being deleted"):
		return nil
	}
	return &APIError{Op: "delete datastore " + id, Status: st, Body: truncate(b)}
}

// WaitDeleted polls a datastore until dbaasd reports it DELETED or gone.
func (c *Client) WaitDeleted(ctx context.Context, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s, found, err := c.Status(ctx, id)
		if err != nil {
			return err
		}
		if !found || s == "DELETED" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("datastore %s not deleted after %s", id, timeout)
}

// LiveDatastores lists the IDs of the project's datastores not yet deleted.
func (c *Client) LiveDatastores(ctx context.Context) ([]string, error) {
	b, err := c.Get(ctx, "/v1/datastores")
	if err != nil {
		return nil, err
	}
	var r struct {
		Datastores []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"datastores"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("list datastores: %w", err)
	}
	var out []string
	for _, d := range r.Datastores {
		if d.Status != "DELETED" {
			out = append(out, d.ID)
		}
	}
	return out, nil
}

// failedActions names the actions of an answer of GET /v1/actions that did
// not succeed, with their errors (the whole answer when it cannot be read).
func failedActions(body []byte) string {
	var out struct {
		Actions []struct {
			Name   string  `json:"name"`
			Status string  `json:"status"`
			Error  *string `json:"error"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "actions: " + truncate(body)
	}
	var parts []string
	for _, a := range out.Actions {
		if a.Status == "SUCCESS" {
			continue
		}
		e := ""
		if a.Error != nil {
			e = ": " + *a.Error
		}
		parts = append(parts, a.Name+" "+a.Status+e)
	}
	if len(parts) == 0 {
		return "no failed action"
	}
	return "actions not successful: " + strings.Join(parts, "; ")
}
