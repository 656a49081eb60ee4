package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// TestLegacyHashesAreMarked starts from a store as dbaasd left it before
// token hashes were keyed (migration 5, bare SHA-256 hashes) and checks
// that opening it marks those hashes as legacy, so that they are upgraded
// when their tokens are next presented, and that a metrics token of then
// has no value yet.
func TestLegacyHashesAreMarked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bare := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	for _, tc := range []struct{ name, url, driver, dsn string }{
		{"sqlite", "", "sqlite", "file:" + filepath.Join(dir, "dbaasd.db")},
		{"postgres", "", "pgx", ""}, // a server started on first use
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.driver == "pgx" {
				tc.url = pgtest.URL(t)
				tc.dsn = tc.url
			}
			ctx := context.Background()
			s, err := store.Open(ctx, tc.url, dir, box(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.MigrateDownTo(ctx, s, 5); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(tc.driver, tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = raw.Close() }()
			ph := func(q string) string { return q }
			if tc.driver == "pgx" {
				ph = func(q string) string {
					n := 0
					out := []byte{}
					for i := 0; i < len(q); i++ {
						if q[i] == '?' {
							n++
							out = append(out, '$', byte('0'+n))
							continue
						}
						out = append(out, q[i])
					}
					return string(out)
				}
			}
			now := time.Now().UnixMicro()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{"INSERT INTO projects (id, name, created_at) VALUES (?, '', ?)", []any{testProject, now}},
				{"INSERT INTO tokens (hash, project_id, admin, source, created_at) VALUES (?, ?, FALSE, 'provisioned', ?)",
					[]any{bare("old-api-token"), testProject, now}},
				{"INSERT INTO prometheus_metrics_tokens (id, project_id, name, value_hash, created_at, updated_at) VALUES (?, ?, 'prom', ?, ?, ?)",
					[]any{"3f2504e0-4f89-41d3-9a0c-0305e82c3302", testProject, bare("old-metrics-token"), now, now}},
			} {
				if _, err := raw.Exec(ph(q.sql), q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			_ = s.Close()

			s, err = store.Open(ctx, tc.url, dir, box(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			tok, err := s.Token(ctx, "sha256:"+bare("old-api-token"))
			if err != nil || tok.ProjectID != testProject {
				t.Fatalf("legacy API token: %+v, %v", tok, err)
			}
			if n, err := s.CountLegacyTokens(ctx); err != nil || n != 1 {
				t.Fatalf("legacy tokens = %d, %v", n, err)
			}
			mt, err := s.MetricsTokens().Get(ctx, "3f2504e0-4f89-41d3-9a0c-0305e82c3302")
			if err != nil || mt.ValueHash != "sha256:"+bare("old-metrics-token") || mt.Value != "" {
				t.Fatalf("legacy metrics token: %+v, %v", mt, err)
			}
		})
	}
}

// TestProjectCountsFilledFromStoredRows opens a store as dbaasd left it
// before project_counts (migration 9) with metrics tokens stored, and
// checks that the migration counts them, so quotas hold across upgrades.
func TestProjectCountsFilledFromStoredRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.name == "postgres" {
				tc.url = pgtest.URL(t)
			}
			ctx := context.Background()
			s, err := store.Open(ctx, tc.url, dir, box(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Projects().Insert(ctx, project()); err != nil {
				t.Fatal(err)
			}
			if err := store.MigrateDownTo(ctx, s, 9); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			for i := 0; i < 3; i++ {
				mt := &model.MetricsToken{Base: model.Base{ID: fmt.Sprintf("3f2504e0-4f89-41d3-9a0c-0305e82c330%d", i),
					ProjectID: testProject, CreatedAt: now, UpdatedAt: now}, Name: "t", ValueHash: fmt.Sprint("hash-", i)}
				if err := s.MetricsTokens().Insert(ctx, mt); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Close()
			s, err = store.Open(ctx, tc.url, dir, box(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			u, err := s.Usage(ctx, testProject)
			if err != nil || u.MetricsTokens != 3 {
				t.Fatalf("usage after the migration = %+v, %v", u, err)
			}
		})
	}
}
