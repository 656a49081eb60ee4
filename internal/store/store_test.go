package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
	"github.com/dbaasd/dbaasd/internal/store/storetest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func box(t *testing.T) *secret.Box {
	t.Helper()
	b, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openWith(t *testing.T, url, dir string) func() store.Store {
	return func() store.Store {
		s, err := store.Open(context.Background(), url, dir, box(t))
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func() store.Store {
		return openWith(t, "", t.TempDir())
	})
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func() store.Store {
		return openWith(t, pgtest.URL(t), "")
	})
}

// TestSecretsAreSealedAtRest reads the raw rows and checks that no secret
// is stored in the clear, on both dialects.
func TestSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, url, driver, dsn string }{
		{"sqlite", "", "sqlite", "file:" + filepath.Join(dir, "dbaasd.db")},
		{"postgres", "", "pgx", ""}, // a server started on first use
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.driver == "pgx" {
				tc.url = pgtest.URL(t)
				tc.dsn = tc.url
			}
			s := openWith(t, tc.url, dir)()
			ctx := context.Background()
			if err := s.Projects().Insert(ctx, project()); err != nil {
				t.Fatal(err)
			}
			d := storetestDatastore()
			if err := s.Datastores().Insert(ctx, d); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(tc.driver, tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = raw.Close() }()
			var rp, ap string
			if err := raw.QueryRow("SELECT redis_password, admin_password FROM datastores WHERE id = '"+d.ID+"'").Scan(&rp, &ap); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(rp, d.RedisPassword) || strings.Contains(ap, d.AdminPassword) || rp == "" || ap == "" {
				t.Fatalf("secrets stored in the clear: %q %q", rp, ap)
			}
			mt := &model.MetricsToken{Base: model.Base{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3309", ProjectID: testProject,
				CreatedAt: time.Now(), UpdatedAt: time.Now()}, Name: "m", ValueHash: "h", Value: "metrics-token-value"}
			if err := s.MetricsTokens().Insert(ctx, mt); err != nil {
				t.Fatal(err)
			}
			var mv string
			if err := raw.QueryRow("SELECT value FROM prometheus_metrics_tokens WHERE id = '" + mt.ID + "'").Scan(&mv); err != nil {
				t.Fatal(err)
			}
			if mv == "" || strings.Contains(mv, mt.Value) {
				t.Fatalf("metrics token value stored in the clear: %q", mv)
			}
			if got, err := s.MetricsTokens().Get(ctx, mt.ID); err != nil || got.Value != mt.Value {
				t.Fatalf("metrics token read back: %+v %v", got, err)
			}
		})
	}
}
