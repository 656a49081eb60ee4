package httpapi_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestMetricsTokenValue is the client's view of a Prometheus metrics
// token: its value is in the answer of create, get (both shapes), update
// and list, and a list filtered by value finds it (and only in its own
// project); at rest the value is sealed and its hash keyed.
func TestMetricsTokenValue(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	created := e.Do(at.TokenA, http.MethodPost, "/v1/prometheus-metrics-tokens",
		map[string]any{"prometheus-metrics-token": map[string]any{"name": "prom"}})
	id, value := created.Str("prometheus-metrics-token.id"), created.Str("prometheus-metrics-token.value")
	if created.Status != http.StatusCreated || len(value) < 32 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	got := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens/"+id, nil)
	if got.Str("prometheus-metrics-token.value") != value || got.Str("value") != value {
		t.Errorf("get: %s", got.Body)
	}
	upd := e.Do(at.TokenA, http.MethodPut, "/v1/prometheus-metrics-tokens/"+id,
		map[string]any{"prometheus-metrics-token": map[string]any{"name": "renamed"}})
	if upd.Str("prometheus-metrics-token.value") != value {
		t.Errorf("update: %s", upd.Body)
	}
	e.Do(at.TokenA, http.MethodPost, "/v1/prometheus-metrics-tokens",
		map[string]any{"prometheus-metrics-token": map[string]any{"name": "second"}})
	all := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens", nil)
	if n := len(all.Get("prometheus-metrics-tokens").([]any)); n != 2 || all.Str("prometheus-metrics-tokens.0.value") != value {
		t.Errorf("list: %s", all.Body)
	}
	byValue := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens?value="+url.QueryEscape(value), nil)
	if l := byValue.Get("prometheus-metrics-tokens").([]any); len(l) != 1 || byValue.Str("prometheus-metrics-tokens.0.id") != id {
		t.Errorf("list by value: %s", byValue.Body)
	}
	for token, query := range map[string]string{at.TokenA: "value=wrong-value", at.TokenB: "value=" + url.QueryEscape(value)} {
		r := e.Do(token, http.MethodGet, "/v1/prometheus-metrics-tokens?"+query, nil)
		if l := r.Get("prometheus-metrics-tokens").([]any); len(l) != 0 {
			t.Errorf("list by %s: %s", query, r.Body)
		}
	}

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(e.DataDir, "dbaasd.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	var hash, sealed string
	if err := raw.QueryRow("SELECT value_hash, value FROM prometheus_metrics_tokens WHERE id = ?", id).Scan(&hash, &sealed); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(value))
	if strings.Contains(sealed, value) || sealed == "" || hash == hex.EncodeToString(sum[:]) || strings.Contains(hash, value) {
		t.Errorf("metrics token at rest: value %q, hash %q", sealed, hash)
	}
}

// TestLegacyMetricsTokenUpgrade: a metrics token issued before values
// were kept (stored under the bare hash of its value, as the migration
// marks it) has no value to show until its value is presented — to the
// exporter or in a list filter — and then shows it in every answer.
func TestLegacyMetricsTokenUpgrade(t *testing.T) {
	t.Parallel()
	e := at.Start(t, at.Options{})
	ctx := context.Background()
	value := secret.Token()
	now := time.Now().UTC().Truncate(time.Second)
	id := uuid.NewString()
	if err := e.D.Store.MetricsTokens().Insert(ctx, &model.MetricsToken{
		Base: model.Base{ID: id, ProjectID: at.ProjectA, CreatedAt: now, UpdatedAt: now},
		Name: "old", ValueHash: secret.LegacyHash(value),
	}); err != nil {
		t.Fatal(err)
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens/"+id, nil); r.Str("value") != "" {
		t.Fatalf("legacy token shows a value: %s", r.Body)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/prometheus/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exporter with a legacy token: %d", resp.StatusCode)
	}
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens/"+id, nil); r.Str("value") != value {
		t.Errorf("upgraded token: %s", r.Body)
	}
	stored, err := e.D.Store.MetricsTokens().Get(ctx, id)
	if err != nil || secret.IsLegacyHash(stored.ValueHash) {
		t.Errorf("stored after the upgrade: %+v %v", stored, err)
	}

	other, otherID := secret.Token(), uuid.NewString()
	if err := e.D.Store.MetricsTokens().Insert(ctx, &model.MetricsToken{
		Base: model.Base{ID: otherID, ProjectID: at.ProjectA, CreatedAt: now, UpdatedAt: now},
		Name: "old-2", ValueHash: secret.LegacyHash(other),
	}); err != nil {
		t.Fatal(err)
	}
	r := e.Do(at.TokenA, http.MethodGet, "/v1/prometheus-metrics-tokens?value="+url.QueryEscape(other), nil)
	if r.Str("prometheus-metrics-tokens.0.id") != otherID || r.Str("prometheus-metrics-tokens.0.value") != other {
		t.Errorf("list by the value of a legacy token: %s", r.Body)
	}
}
